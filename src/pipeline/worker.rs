//! A long-lived scoring thread for interactive callers (the review app): files go in as
//! commands, progress and results come out as events, and a repaint closure wakes the caller.
//! Nothing here blocks the caller: sends are `try_send`, and dropping the handle stops the
//! thread without waiting for it.

use super::{PipelineError, Progress, ScoreOptions, ScoreReport, score_file};
use crate::model::Pack;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Requests to the scoring thread.
#[derive(Debug, Clone)]
pub enum ScoreCommand {
    /// Score this file (queued behind earlier ones); `seq` orders it against cancels.
    Score {
        /// The file.
        path: PathBuf,
        /// Its video stream (multi-camera files); `None`: FFmpeg's pick.
        stream: Option<usize>,
        /// Sequence number given by the handle.
        seq: u64,
        /// By the cascade, or every clip through the full network: a per-file choice, so
        /// that a change in the app's settings applies to the next file scored.
        cascade: bool,
    },
}

/// What the scoring thread reports.
#[derive(Debug, Clone)]
pub enum ScoreEvent {
    /// Work on a file started or moved on.
    Progress {
        /// The file.
        path: PathBuf,
        /// Its video stream, as asked for.
        stream: Option<usize>,
        /// What happened.
        progress: Progress,
    },
    /// A file is scored.
    Done {
        /// The file.
        path: PathBuf,
        /// Its video stream, as asked for.
        stream: Option<usize>,
        /// Its report.
        report: Box<ScoreReport>,
    },
    /// A file could not be scored; the message is one plain sentence.
    Failed {
        /// The file.
        path: PathBuf,
        /// Its video stream, as asked for.
        stream: Option<usize>,
        /// Why.
        error: String,
    },
    /// Scoring was cancelled; what was computed stays cached.
    Cancelled {
        /// The file that was being scored.
        path: PathBuf,
        /// Its video stream, as asked for.
        stream: Option<usize>,
    },
}

/// The thread's side of a [`ScoringWorker::detached`] handle.
pub struct DetachedEnd {
    /// What the handle asked for, in order.
    pub commands: Receiver<ScoreCommand>,
    /// Where to answer.
    pub events: Sender<ScoreEvent>,
    /// Commands with a lower sequence number were cancelled.
    pub cancel_below: Arc<AtomicU64>,
}

/// Handle to the scoring thread.
pub struct ScoringWorker {
    commands: Sender<ScoreCommand>,
    events: Receiver<ScoreEvent>,
    /// Sequence number of the next command.
    next_seq: AtomicU64,
    /// Commands with a lower sequence number are cancelled. A cancel therefore hits what was
    /// asked for before it, never a file queued after it.
    cancel_below: Arc<AtomicU64>,
    alive: Arc<AtomicBool>,
}

/// Room for queued files; more than a case holds in practice, and bounded all the same.
const COMMAND_QUEUE: usize = 256;
/// Room for events the caller has not drained yet. Progress events are dropped rather than
/// block when it is full; results are not.
const EVENT_QUEUE: usize = 64;

impl ScoringWorker {
    /// Starts the thread. `wake` is called after every event (e.g. `ctx.request_repaint()`).
    pub fn spawn(
        pack: Pack,
        opts: ScoreOptions,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let (cmd_tx, cmd_rx) = bounded::<ScoreCommand>(COMMAND_QUEUE);
        let (ev_tx, ev_rx) = bounded::<ScoreEvent>(EVENT_QUEUE);
        let cancel_below = Arc::new(AtomicU64::new(0));
        let alive = Arc::new(AtomicBool::new(true));
        let (c, a) = (Arc::clone(&cancel_below), Arc::clone(&alive));
        std::thread::Builder::new()
            .name("vigil-scoring".into())
            .spawn(move || worker_loop(&pack, &opts, &cmd_rx, &ev_tx, &c, &a, &wake))?;
        Ok(Self {
            commands: cmd_tx,
            events: ev_rx,
            next_seq: AtomicU64::new(0),
            cancel_below,
            alive,
        })
    }

    /// A handle with no thread behind it, and the thread's ends of its channels: the caller
    /// plays the scoring thread. For tests of the review app's logic that must not wait for a
    /// network (rerun builds its app with injected channels the same way).
    pub fn detached() -> (Self, DetachedEnd) {
        let (cmd_tx, cmd_rx) = bounded::<ScoreCommand>(COMMAND_QUEUE);
        let (ev_tx, ev_rx) = bounded::<ScoreEvent>(EVENT_QUEUE);
        let cancel_below = Arc::new(AtomicU64::new(0));
        let handle = Self {
            commands: cmd_tx,
            events: ev_rx,
            next_seq: AtomicU64::new(0),
            cancel_below: Arc::clone(&cancel_below),
            alive: Arc::new(AtomicBool::new(true)),
        };
        let end = DetachedEnd {
            commands: cmd_rx,
            events: ev_tx,
            cancel_below,
        };
        (handle, end)
    }

    /// Queues a file's video stream (`None`: FFmpeg's pick), by the cascade or not. Returns
    /// false if the queue is full or the thread has stopped.
    pub fn score(&self, path: PathBuf, stream: Option<usize>, cascade: bool) -> bool {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        self.commands
            .try_send(ScoreCommand::Score {
                path,
                stream,
                seq,
                cascade,
            })
            .is_ok()
    }

    /// Cancels the file being scored and everything queued so far.
    pub fn cancel(&self) {
        self.cancel_below
            .fetch_max(self.next_seq.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// The next event, if there is one.
    pub fn try_event(&self) -> Option<ScoreEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for ScoringWorker {
    fn drop(&mut self) {
        // The thread notices at its next frame or batch and exits; nobody waits for it.
        self.alive.store(false, Ordering::SeqCst);
        self.cancel_below.store(u64::MAX, Ordering::SeqCst);
    }
}

fn worker_loop(
    pack: &Pack,
    opts: &ScoreOptions,
    commands: &Receiver<ScoreCommand>,
    events: &Sender<ScoreEvent>,
    cancel_below: &AtomicU64,
    alive: &AtomicBool,
    wake: &dyn Fn(),
) {
    let send = |e: ScoreEvent| {
        // Results must arrive; block for room (the caller drains every frame).
        let ok = events.send(e).is_ok();
        wake();
        ok
    };
    while let Ok(ScoreCommand::Score {
        path,
        stream,
        seq,
        cascade,
    }) = commands.recv()
    {
        if !alive.load(Ordering::SeqCst) {
            return;
        }
        let cancelled = || seq < cancel_below.load(Ordering::SeqCst);
        if cancelled() {
            if !send(ScoreEvent::Cancelled { path, stream }) {
                return;
            }
            continue;
        }
        let progress_path = path.clone();
        let opts = ScoreOptions {
            cascade,
            open: crate::video::OpenOptions {
                stream,
                ..opts.open
            },
            ..opts.clone()
        };
        let result = score_file(&path, pack, &opts, &cancelled, &mut |progress| {
            // The hash must arrive (marks wait for it); other progress may be dropped when the
            // caller is behind, since the next one supersedes it.
            let must_arrive = matches!(progress, Progress::Hashed { .. });
            let event = ScoreEvent::Progress {
                path: progress_path.clone(),
                stream,
                progress,
            };
            let sent = if must_arrive {
                events.send(event).is_ok()
            } else {
                events.try_send(event).is_ok()
            };
            if sent {
                wake();
            }
        });
        let event = match result {
            Ok(report) => ScoreEvent::Done {
                path,
                stream,
                report: Box::new(report),
            },
            Err(PipelineError::Cancelled) => ScoreEvent::Cancelled { path, stream },
            Err(e) => ScoreEvent::Failed {
                path,
                stream,
                error: e.to_string(),
            },
        };
        if !send(event) {
            return;
        }
    }
}

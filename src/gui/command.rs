//! What the analyst can ask for: one [`Command`] enum that panels, windows, the timeline and
//! the keymap push, and the app carries out at the end of the frame (`app/command.rs`), so
//! that nothing drawn mutates what another panel is drawing.

use crate::case::MarkKind;
use std::path::PathBuf;

/// Everything the user can ask for. Panels return these; the app runs them after drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Add footage to the case and score it.
    OpenFiles(Vec<PathBuf>),
    /// Show the native "open footage" dialog.
    OpenFilesDialog,
    /// Show the native "open case" dialog.
    OpenCaseDialog,
    /// Open a case file.
    OpenCase(PathBuf),
    /// Save the case (asks where the first time).
    SaveCase,
    /// Save the case under a new name.
    SaveCaseAs,
    /// Save to this path.
    SaveCaseTo(PathBuf),
    /// Ask where to write the UCF-Crime annotation file.
    ExportAnnotationsDialog,
    /// Write the annotation file here.
    ExportAnnotationsTo(PathBuf),
    /// Show this file.
    Select(usize),
    /// Move the cursor to this time.
    Seek(f64),
    /// Step this many frames.
    StepFrames(i64),
    /// Step this many seconds.
    StepSeconds(f64),
    /// Play or pause.
    TogglePlay,
    /// Pause.
    Pause,
    /// Playback speed.
    SetSpeed(f64),
    /// Next faster speed (playing if paused).
    Faster,
    /// Next slower speed; when paused, one second back.
    Slower,
    /// Go to the start of flagged span `i` (rank order).
    JumpToPeak(usize),
    /// Go to top moment `i` (rank order; listed when nothing is flagged).
    JumpToMoment(usize),
    /// The next flagged span after the cursor, in time.
    NextPeak,
    /// The previous flagged span before the cursor.
    PrevPeak,
    /// Flagging threshold.
    SetThreshold(f32),
    /// Merge gap, seconds.
    SetMergeGap(f64),
    /// Minimum span, seconds.
    SetMinSpan(f64),
    /// Cancel scoring: the file being scored and every file waiting.
    CancelScoring,
    /// Stop scoring after putting the file being scored back at the head of the queue (what
    /// it computed stays cached, so resuming costs nothing twice).
    PauseScoring,
    /// Go on with the queue.
    ResumeScoring,
    /// Move waiting file `file` one place earlier (`up`) or later in the queue.
    MoveInQueue {
        /// Index of the file in the case.
        file: usize,
        /// Earlier (true) or later.
        up: bool,
    },
    /// Queue file `i` again (after a cancel or a failure).
    Rescore(usize),
    /// Open the mark dialog for a new mark.
    BeginMark(MarkKind),
    /// Store the mark in the dialog.
    SaveMark,
    /// Close the mark dialog.
    DiscardMark,
    /// Delete mark `i` of the case.
    DeleteMark(usize),
    /// Zoom the timeline (factor < 1 zooms in).
    ZoomTimeline(f64),
    /// Show the whole footage on the timeline.
    FitTimeline,
    /// Forget error `i`.
    DismissError(usize),
    /// Show or hide the keyboard help.
    ToggleHelp,
    /// Close the window with the last verification's result.
    CloseVerification,
    /// Export flagged span `i` (rank order) of the shown file as evidence.
    ExportPeak(usize),
    /// Export mark `i` of the case as evidence.
    ExportMark(usize),
    /// Export every flagged span of the shown file into one folder.
    ExportAllFlagged,
    /// Show or hide the settings window.
    ToggleSettings,
    /// Save the settings being edited.
    SaveSettings,
    /// Re-hash the case's originals against their recorded SHA-256.
    VerifyCase,
}

//! The app's keys: one table that both the key handling and the help overlay read, so that the
//! help can never describe a key that does something else (they were two lists before).
//!
//! Pointer gestures on the timeline are handled by `timeline.rs`; their rows are here only so
//! that the help lists them in the same place.

use super::command::Command;
use crate::case::MarkKind;
use egui::Key;

/// Which modifiers a binding asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mods {
    /// Whatever is held.
    Any,
    /// Neither Shift nor Ctrl/Cmd.
    Plain,
    /// Shift without Ctrl/Cmd.
    Shift,
    /// Ctrl (Cmd on a Mac), with or without Shift.
    Command,
}

/// A key, the modifiers it needs, and what it asks the app to do.
pub struct Binding {
    /// The key.
    pub key: Key,
    /// The modifiers.
    pub mods: Mods,
    /// The command it pushes.
    pub command: fn() -> Command,
}

/// One line of the help: the bindings it describes (none for a pointer gesture) and what they do.
pub struct Row {
    /// What the keys do, as the help says it.
    pub what: &'static str,
    /// The keys.
    pub bindings: &'static [Binding],
    /// For a pointer gesture: how the help names it.
    pub pointer: Option<&'static str>,
}

const fn bind(key: Key, mods: Mods, command: fn() -> Command) -> Binding {
    Binding { key, mods, command }
}

const fn keys(what: &'static str, bindings: &'static [Binding]) -> Row {
    Row {
        what,
        bindings,
        pointer: None,
    }
}

/// Every key of the app, in the order the help lists them.
pub static KEYMAP: &[Row] = &[
    keys(
        "play / pause",
        &[bind(Key::Space, Mods::Any, || Command::TogglePlay)],
    ),
    keys(
        "one frame back / forward",
        &[
            bind(Key::ArrowLeft, Mods::Plain, || Command::StepFrames(-1)),
            bind(Key::ArrowRight, Mods::Plain, || Command::StepFrames(1)),
        ],
    ),
    keys(
        "one second back / forward",
        &[
            bind(Key::ArrowLeft, Mods::Shift, || Command::StepSeconds(-1.0)),
            bind(Key::ArrowRight, Mods::Shift, || Command::StepSeconds(1.0)),
        ],
    ),
    keys(
        "ten seconds back / forward",
        &[
            bind(Key::ArrowLeft, Mods::Command, || {
                Command::StepSeconds(-10.0)
            }),
            bind(Key::ArrowRight, Mods::Command, || {
                Command::StepSeconds(10.0)
            }),
        ],
    ),
    keys(
        "slower (paused: one second back)",
        &[bind(Key::J, Mods::Any, || Command::Slower)],
    ),
    keys("pause", &[bind(Key::K, Mods::Any, || Command::Pause)]),
    keys(
        "play / faster",
        &[bind(Key::L, Mods::Any, || Command::Faster)],
    ),
    keys(
        "next / previous flagged span",
        &[
            bind(Key::N, Mods::Any, || Command::NextPeak),
            bind(Key::P, Mods::Any, || Command::PrevPeak),
        ],
    ),
    keys(
        "start / end of the footage",
        &[
            bind(Key::Home, Mods::Any, || Command::Seek(0.0)),
            bind(Key::End, Mods::Any, || Command::Seek(f64::MAX)),
        ],
    ),
    keys(
        "zoom the timeline in / out",
        &[
            bind(Key::Plus, Mods::Any, || Command::ZoomTimeline(0.5)),
            bind(Key::Equals, Mods::Any, || Command::ZoomTimeline(0.5)),
            bind(Key::Minus, Mods::Any, || Command::ZoomTimeline(2.0)),
        ],
    ),
    Row {
        what: "pan, zoom the timeline",
        bindings: &[],
        pointer: Some("Wheel, Ctrl + wheel"),
    },
    Row {
        what: "seek",
        bindings: &[],
        pointer: Some("Click, drag on the timeline"),
    },
    keys(
        "mark the span at the cursor",
        &[bind(Key::M, Mods::Any, || {
            Command::BeginMark(MarkKind::Incident)
        })],
    ),
    keys(
        "open footage / save the case",
        &[
            bind(Key::O, Mods::Command, || Command::OpenFilesDialog),
            bind(Key::S, Mods::Command, || Command::SaveCase),
        ],
    ),
    keys(
        "this help",
        &[
            bind(Key::F1, Mods::Any, || Command::ToggleHelp),
            bind(Key::H, Mods::Any, || Command::ToggleHelp),
            bind(Key::Questionmark, Mods::Any, || Command::ToggleHelp),
        ],
    ),
    keys(
        "close the mark dialog",
        &[bind(Key::Escape, Mods::Any, || Command::DiscardMark)],
    ),
];

impl Mods {
    fn held(self, m: egui::Modifiers) -> bool {
        match self {
            Mods::Any => true,
            Mods::Plain => !m.shift && !m.command,
            Mods::Shift => m.shift && !m.command,
            Mods::Command => m.command,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mods::Any | Mods::Plain => "",
            Mods::Shift => "Shift + ",
            Mods::Command => "Ctrl + ",
        }
    }
}

/// How the help writes a key.
fn key_label(key: Key) -> &'static str {
    match key {
        Key::ArrowLeft => "Left",
        Key::ArrowRight => "Right",
        Key::Questionmark => "?",
        Key::Plus => "+",
        Key::Equals => "=",
        Key::Minus => "-",
        Key::Escape => "Esc",
        other => other.name(),
    }
}

impl Row {
    /// The keys as the help shows them: "Shift + Left / Right", "F1 / H / ?".
    pub fn label(&self) -> String {
        if let Some(p) = self.pointer {
            return p.to_string();
        }
        let names: Vec<&str> = self.bindings.iter().map(|b| key_label(b.key)).collect();
        let shared = self.bindings.first().map(|b| b.mods);
        if self.bindings.iter().all(|b| Some(b.mods) == shared) {
            format!("{}{}", shared.map_or("", Mods::label), names.join(" / "))
        } else {
            self.bindings
                .iter()
                .map(|b| format!("{}{}", b.mods.label(), key_label(b.key)))
                .collect::<Vec<_>>()
                .join(" / ")
        }
    }
}

/// The commands the keys pressed this frame ask for.
pub fn commands(input: &egui::InputState) -> Vec<Command> {
    KEYMAP
        .iter()
        .flat_map(|row| row.bindings)
        .filter(|b| input.key_pressed(b.key) && b.mods.held(input.modifiers))
        .map(|b| (b.command)())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modifier cases a binding can be pressed with.
    const HELD: [egui::Modifiers; 4] = [
        egui::Modifiers::NONE,
        egui::Modifiers::SHIFT,
        egui::Modifiers::COMMAND,
        egui::Modifiers {
            shift: true,
            ..egui::Modifiers::COMMAND
        },
    ];

    #[test]
    fn no_key_press_means_two_things() {
        let all: Vec<&Binding> = KEYMAP.iter().flat_map(|r| r.bindings).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                if a.key != b.key {
                    continue;
                }
                for m in HELD {
                    assert!(
                        !(a.mods.held(m) && b.mods.held(m)),
                        "{} is bound twice ({:?})",
                        key_label(a.key),
                        m
                    );
                }
            }
        }
    }

    #[test]
    fn the_help_names_the_keys_the_table_binds() {
        let labels: Vec<(String, &str)> = KEYMAP.iter().map(|r| (r.label(), r.what)).collect();
        let get = |what: &str| {
            labels
                .iter()
                .find(|(_, w)| *w == what)
                .map(|(l, _)| l.clone())
                .unwrap()
        };
        assert_eq!(get("play / pause"), "Space");
        assert_eq!(get("one frame back / forward"), "Left / Right");
        assert_eq!(get("ten seconds back / forward"), "Ctrl + Left / Right");
        assert_eq!(get("this help"), "F1 / H / ?");
        assert_eq!(get("open footage / save the case"), "Ctrl + O / S");
        assert_eq!(get("seek"), "Click, drag on the timeline");
        assert!(
            KEYMAP
                .iter()
                .all(|r| r.pointer.is_some() == r.bindings.is_empty())
        );
    }

    #[test]
    fn a_pressed_key_gives_its_command_with_the_right_modifiers() {
        let press = |key: Key, modifiers: egui::Modifiers| {
            let mut i = egui::InputState::default();
            i.modifiers = modifiers;
            i.events.push(egui::Event::Key {
                key,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers,
            });
            i.keys_down.insert(key);
            commands(&i)
        };
        assert_eq!(
            press(Key::ArrowLeft, egui::Modifiers::NONE),
            vec![Command::StepFrames(-1)]
        );
        assert_eq!(
            press(Key::ArrowLeft, egui::Modifiers::SHIFT),
            vec![Command::StepSeconds(-1.0)]
        );
        assert_eq!(
            press(Key::ArrowRight, egui::Modifiers::COMMAND),
            vec![Command::StepSeconds(10.0)]
        );
        assert_eq!(press(Key::S, egui::Modifiers::NONE), vec![]);
        assert_eq!(
            press(Key::S, egui::Modifiers::COMMAND),
            vec![Command::SaveCase]
        );
    }
}

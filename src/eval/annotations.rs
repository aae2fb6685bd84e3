//! UCF-Crime temporal annotations.
//!
//! Two forms are read, one video per line, fields separated by runs of spaces or tabs:
//! - `name class s1 e1 s2 e2 [s3 e3 …]` (the dataset's `Temporal_Anomaly_Annotation.txt`, and
//!   what the review app exports);
//! - `class/name frames class s1 e1 s2 e2` (the variant with each video's frame count).
//!
//! Frames are 0-based and intervals inclusive; `-1 -1` means no interval. Intervals that end past
//! the last frame are clamped to it when the frame count is known.

use super::EvalError;
use std::path::Path;

/// One annotated video.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// File name without folders (`Abuse028_x264.mp4`).
    pub name: String,
    /// Class (`Abuse`, `Normal`, …).
    pub class: String,
    /// Anomalous frame intervals, inclusive.
    pub intervals: Vec<(u64, u64)>,
    /// Frame count, when the file gives it.
    pub frames: Option<u64>,
}

impl Annotation {
    /// True for a video with no anomaly.
    pub fn is_normal(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Whether frame `f` is anomalous.
    pub fn is_anomalous(&self, f: u64) -> bool {
        self.intervals.iter().any(|&(a, b)| a <= f && f <= b)
    }

    /// The name without extension, for matching score files to annotations.
    pub fn stem(&self) -> &str {
        self.name
            .rsplit_once('.')
            .map_or(self.name.as_str(), |(s, _)| s)
    }
}

fn base_name(s: &str) -> String {
    s.rsplit('/').next().unwrap_or(s).to_string()
}

/// Parses annotation text.
pub fn parse_annotations(text: &str, source: &Path) -> Result<Vec<Annotation>, EvalError> {
    let mut out = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0].starts_with('#') {
            continue;
        }
        let bad = |why: &str| EvalError::Annotations {
            path: source.to_path_buf(),
            reason: format!("line {}: {why}: {line}", lineno + 1),
        };
        // With a frame count the second field is a number and the class comes third.
        let (name, frames, class, rest) = match fields.get(1).map(|f| f.parse::<u64>()) {
            Some(Ok(n)) if fields.len() >= 3 => (fields[0], Some(n), fields[2], &fields[3..]),
            _ if fields.len() >= 2 => (fields[0], None, fields[1], &fields[2..]),
            _ => return Err(bad("expected `name class start end …`")),
        };
        if rest.len() % 2 != 0 {
            return Err(bad("frame bounds come in start/end pairs"));
        }
        let mut intervals = Vec::new();
        for pair in rest.chunks_exact(2) {
            let a: i64 = pair[0].parse().map_err(|_| bad("not a frame number"))?;
            let b: i64 = pair[1].parse().map_err(|_| bad("not a frame number"))?;
            if a < 0 || b < 0 {
                continue;
            }
            if b < a {
                return Err(bad("an interval ends before it starts"));
            }
            let (mut a, mut b) = (a as u64, b as u64);
            if let Some(n) = frames {
                if a >= n {
                    continue;
                }
                b = b.min(n.saturating_sub(1));
                a = a.min(b);
            }
            intervals.push((a, b));
        }
        out.push(Annotation {
            name: base_name(name),
            class: class.to_string(),
            intervals,
            frames,
        });
    }
    Ok(out)
}

/// Reads an annotation file.
pub fn read_annotations(path: &Path) -> Result<Vec<Annotation>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Annotations {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse_annotations(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ucf_forms_and_clamping() {
        let text = "Abuse028_x264.mp4  Abuse  165  240  -1  -1  \n\
                    Arson/Arson022_x264.mp4 8640 Arson 3500 4000 -1 -1\n\
                    RoadAccidents/X.mp4 155 RoadAccidents 30 200 -1 -1\n\
                    Testing_Normal_Videos_Anomaly/N.mp4 530 Normal -1 -1 -1 -1\n";
        let a = parse_annotations(text, Path::new("t")).unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(a[0].intervals, vec![(165, 240)]);
        assert_eq!(a[0].frames, None);
        assert_eq!(
            (a[1].name.as_str(), a[1].frames),
            ("Arson022_x264.mp4", Some(8640))
        );
        assert_eq!(a[2].intervals, vec![(30, 154)], "clamped to the last frame");
        assert!(a[3].is_normal());
        assert_eq!(a[0].stem(), "Abuse028_x264");
        assert!(a[0].is_anomalous(165) && a[0].is_anomalous(240) && !a[0].is_anomalous(241));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let e = parse_annotations("x.mp4 Abuse 10\n", Path::new("ann.txt")).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        assert!(parse_annotations("x.mp4 A 20 10\n", Path::new("a")).is_err());
    }
}

//! Video lists with video-level labels, the only supervision the method needs.
//!
//! One video per line, `#` starts a comment, paths relative to the list's folder:
//!
//! ```text
//! PATH normal|anomalous [CLASS]
//! PATH                     # label read from the path, as UCF-Crime's Anomaly_Train.txt
//! ```
//!
//! A bare path is normal when its file or folder name contains `Normal` (UCF-Crime's naming),
//! anomalous otherwise with the parent folder as its class. `0`/`1` are accepted for the label.

use super::MilError;
use std::path::{Path, PathBuf};

/// The video-level label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoLabel {
    /// Nothing abnormal happens in the video.
    Normal,
    /// Somewhere in the video something abnormal happens (where is not known).
    Anomalous,
}

/// One line of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledVideo {
    /// Path as resolved against the list's folder.
    pub path: PathBuf,
    /// Label.
    pub label: VideoLabel,
    /// Class, e.g. `Fighting` (`Normal` for normal videos when not given).
    pub class: String,
}

/// Reads a list file.
pub fn read_label_list(path: &Path) -> Result<Vec<LabelledVideo>, MilError> {
    let text = std::fs::read_to_string(path).map_err(|error| MilError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_label_list(&text, base, path)
}

/// Parses list text; relative paths are joined to `base`.
pub fn parse_label_list(
    text: &str,
    base: &Path,
    source: &Path,
) -> Result<Vec<LabelledVideo>, MilError> {
    parse_list(text, base, source, label_from_path)
}

/// Reads a list of footage said to be normal (`vigil bank add`): a bare path is normal, a line
/// that gives a label keeps it.
pub fn read_normal_list(path: &Path) -> Result<Vec<LabelledVideo>, MilError> {
    let text = std::fs::read_to_string(path).map_err(|error| MilError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_list(&text, base, path, |_| {
        (VideoLabel::Normal, "Normal".to_string())
    })
}

fn parse_list(
    text: &str,
    base: &Path,
    source: &Path,
    bare: impl Fn(&str) -> (VideoLabel, String),
) -> Result<Vec<LabelledVideo>, MilError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| MilError::Labels {
            path: source.to_path_buf(),
            line: i + 1,
            reason,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let p = PathBuf::from(fields[0]);
        let path = if p.is_absolute() { p } else { base.join(p) };
        let (label, class) = match fields.get(1) {
            Some(l) => {
                let label = match l.to_ascii_lowercase().as_str() {
                    "normal" | "0" => VideoLabel::Normal,
                    "anomalous" | "anomaly" | "abnormal" | "1" => VideoLabel::Anomalous,
                    other => {
                        return Err(bad(format!(
                            "label '{other}' is neither normal nor anomalous"
                        )));
                    }
                };
                let class = fields.get(2).map_or_else(
                    || match label {
                        VideoLabel::Normal => "Normal".to_string(),
                        VideoLabel::Anomalous => "Anomaly".to_string(),
                    },
                    |c| (*c).to_string(),
                );
                if fields.len() > 3 {
                    return Err(bad(format!(
                        "{} fields; expected PATH LABEL [CLASS]",
                        fields.len()
                    )));
                }
                (label, class)
            }
            None => bare(fields[0]),
        };
        out.push(LabelledVideo { path, label, class });
    }
    if out.is_empty() {
        return Err(MilError::Labels {
            path: source.to_path_buf(),
            line: 0,
            reason: "no videos listed".into(),
        });
    }
    Ok(out)
}

/// UCF-Crime's convention: `Normal` in the name means normal; the folder is the class (for a
/// bare file name, the letters its name starts with).
pub fn label_from_path(p: &str) -> (VideoLabel, String) {
    if p.to_ascii_lowercase().contains("normal") {
        return (VideoLabel::Normal, "Normal".into());
    }
    let path = Path::new(p);
    let from_dir = path
        .parent()
        .and_then(|d| d.file_name())
        .map(|c| c.to_string_lossy().into_owned());
    // A bare file name: UCF-Crime names start with the class (`Explosion008_x264`).
    let from_name = || {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let class: String = stem
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if class.is_empty() {
            "Anomaly".to_string()
        } else {
            class
        }
    };
    (VideoLabel::Anomalous, from_dir.unwrap_or_else(from_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_and_ucf_style_lines() {
        let text = "# kit\nvids/a.mp4 normal\nvids/b.mp4 anomalous Fighting\n\
                    Abuse/Abuse001_x264.mp4\nTraining_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4\n";
        let v = parse_label_list(text, Path::new("/d"), Path::new("l.txt")).unwrap();
        assert_eq!(v[0].path, PathBuf::from("/d/vids/a.mp4"));
        assert_eq!(
            (v[0].label, v[0].class.as_str()),
            (VideoLabel::Normal, "Normal")
        );
        assert_eq!(
            (v[1].label, v[1].class.as_str()),
            (VideoLabel::Anomalous, "Fighting")
        );
        assert_eq!(
            (v[2].label, v[2].class.as_str()),
            (VideoLabel::Anomalous, "Abuse")
        );
        assert_eq!(v[3].label, VideoLabel::Normal);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = parse_label_list(
            "a.mp4 normal\nb.mp4 maybe\n",
            Path::new("."),
            Path::new("l"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2") && e.contains("maybe"), "{e}");
        assert!(parse_label_list("# nothing\n", Path::new("."), Path::new("l")).is_err());
    }
}

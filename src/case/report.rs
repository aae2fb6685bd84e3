//! Pictures and the HTML page of an evidence export: a PNG of the scores around each span
//! (plotters), PNG thumbnails, and one self-contained `report.html` that says in words what
//! the manifest says in JSON.

use super::manifest::{ClipRecord, ExportManifest, SourceRecord};
use crate::base::format_hms;
use crate::base::plot::{png_from_rgb, register_font};
use base64::Engine as _;
use plotters::prelude::*;

/// The scores around a span as a PNG (`width`×`height`): clip scores as steps, the threshold,
/// the span shaded, the peak marked, a time axis in hh:mm:ss.
pub fn score_plot_png(
    scores: &[(f64, f64, f32)],
    span: (f64, f64),
    threshold: f32,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, String> {
    register_font();
    let footage_end = scores.last().map_or(span.1, |s| s.1);
    let pad = (span.1 - span.0).max(30.0);
    let x0 = (span.0 - pad).max(0.0);
    let x1 = (span.1 + pad).min(footage_end.max(span.1));
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(8)
            .margin_right(32)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), 0.0f64..1.05f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(3)
            .x_label_formatter(&|x| format_hms(*x)[..8].to_string())
            .y_label_formatter(&|y| format!("{y:.1}"))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(span.0, 0.0), (span.1, 1.05)],
                RGBColor(255, 200, 170).filled(),
            )))
            .map_err(|e| e.to_string())?;
        let steps = scores
            .iter()
            .filter(|s| s.1 >= x0 && s.0 <= x1)
            .flat_map(|&(a, b, s)| [(a, f64::from(s)), (b, f64::from(s))]);
        chart
            .draw_series(LineSeries::new(
                steps,
                RGBColor(40, 90, 200).stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x0, f64::from(threshold)), (x1, f64::from(threshold))],
                RGBColor(220, 80, 30),
            )))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    png_from_rgb(width, height, &buf)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn img(png: &[u8], alt: &str) -> String {
    format!(
        "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
        esc(alt),
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// Pictures for one clip, made by the exporter.
pub struct ClipPictures {
    /// The peak frame (PNG), if it could be decoded.
    pub thumbnail: Option<Vec<u8>>,
    /// The score plot (PNG), if the footage was scored.
    pub plot: Option<Vec<u8>>,
}

/// The frame hashes in a sentence: how many pictures, and whether the clip shows the source's.
fn frame_hash_words(c: &ClipRecord) -> String {
    let Some(f) = &c.frame_hashes else {
        return "not listed".to_string();
    };
    let runs = f
        .source_frames
        .iter()
        .map(|[a, b]| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}–{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let verdict = match f.first_difference {
        None if f.identical => format!(
            "the clip's {} pictures are identical, frame by frame, to source frames {runs}",
            f.clip.len()
        ),
        Some(i) => format!(
            "the clip's pictures DIFFER from source frames {runs} from picture {} of {} on",
            i + 1,
            f.clip.len()
        ),
        None => format!("the clip's pictures DIFFER from source frames {runs}"),
    };
    format!(
        "every decoded picture hashed (SHA-256 of its {} {}×{} pixels); {verdict}. The hashes are listed in manifest.json; <code>vigil verify --frames</code> decodes both again, and FFmpeg alone prints the same hashes: <code>{}</code>",
        esc(&f.pixel_format),
        f.width,
        f.height,
        esc(&f.reproduce.1)
    )
}

/// The report's words for what decoding found in a clip's span.
fn findings_words(c: &ClipRecord) -> String {
    let Some(f) = &c.findings else {
        return "not checked: the footage had not been decoded to its end when this was exported (score it, then export again)".into();
    };
    if f.gaps.is_empty() && f.damaged.is_empty() {
        return "none found when the footage was scored".into();
    }
    let mut parts: Vec<String> = f
        .gaps
        .iter()
        .map(|g| {
            format!(
                "recording gap {} – {} (no frames for {:.1} s)",
                format_hms(g.from_s),
                format_hms(g.to_s),
                g.to_s - g.from_s
            )
        })
        .collect();
    parts.extend(f.damaged.iter().map(|d| {
        format!(
            "damaged {} – {} ({} frames decoded with errors concealed; {} decoder errors)",
            format_hms(d.from_s),
            format_hms(d.to_s),
            d.frames,
            d.errors
        )
    }));
    parts.join("; ")
}

/// Which video stream was exported, and of how many.
fn stream_words(s: &SourceRecord) -> String {
    match s.video_streams.len() {
        0 | 1 => format!("#{}, the file's only video stream", s.stream),
        n => {
            let others: Vec<String> = s
                .video_streams
                .iter()
                .filter(|&&i| i != s.stream)
                .map(|i| format!("#{i}"))
                .collect();
            format!(
                "#{} of {n} video streams (not exported: {})",
                s.stream,
                others.join(", ")
            )
        }
    }
}

/// Where the times in this report come from.
fn timing_words(s: &SourceRecord) -> String {
    use crate::video::FrameTiming as T;
    match s.timing {
        T::Container => "the container's timestamps".into(),
        T::StreamHeader => format!("the stream's own header (VUI): {:.3} frames/s", s.fps),
        T::Assumed => format!(
            "none stored: FFmpeg assumed {:.3} frames/s, so times hold only if the recorder ran at that rate",
            s.fps
        ),
        T::Given => format!(
            "none stored: timed at {} frames/s, the rate the analyst gave (--fps)",
            s.fps
        ),
    }
}

/// The self-contained report page: the export in words, each clip's peak frame and score plot
/// (embedded PNGs), how to check the folder, and who signed it.
pub fn report_html(m: &ExportManifest, pictures: &[ClipPictures]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str(&format!(
        "<title>Evidence export: {}</title>",
        esc(&m.source.name)
    ));
    h.push_str(
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}\
         table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
         th{background:#f3f3f3}code{font-size:.9em;word-break:break-all}.clip{border-top:2px solid #444;margin-top:2em;padding-top:1em}\
         .pics{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}.note{color:#555}</style></head><body>\n",
    );
    h.push_str(&format!(
        "<h1>Evidence export: {}</h1>\n",
        esc(&m.source.name)
    ));
    h.push_str(&format!(
        "<p>Exported {} (UTC) by <b>{}</b> with {}. {} clip{} cut from the original; the method of each \
         is stated below (a stream copy keeps every packet byte for byte).</p>\n",
        esc(&m.exported_utc),
        esc(if m.analyst.is_empty() { "(analyst not set)" } else { &m.analyst }),
        esc(&m.tool),
        m.clips.len(),
        if m.clips.len() == 1 { " was" } else { "s were" }
    ));
    h.push_str("<h2>The original</h2>\n<table>");
    let s = &m.source;
    let rows = [
        ("File", format!("<code>{}</code>", esc(&s.path))),
        ("SHA-256", format!("<code>{}</code>", esc(&s.sha256))),
        ("Size", format!("{} bytes", s.bytes)),
        (
            "Format",
            format!(
                "{} in {}, {}×{}, {:.3} frames/s, {} frames, {}",
                esc(&s.codec),
                esc(&s.container),
                s.width,
                s.height,
                s.fps,
                s.frames,
                format_hms(s.duration_s)
            ),
        ),
        ("Video stream", stream_words(s)),
        ("Frame times", timing_words(s)),
        (
            "Recording clock",
            s.creation_time.as_deref().map_or_else(
                || "not recorded in the container".to_string(),
                |c| format!("container creation_time {}", esc(c)),
            ),
        ),
        (
            "Unchanged",
            if s.unchanged_after_export {
                "yes: its SHA-256 was computed again after the export and is the same".into()
            } else {
                "<b>NO: the file changed while it was being exported</b>".into()
            },
        ),
    ];
    for (k, v) in rows {
        h.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    h.push_str("</table>\n");
    match &m.model {
        Some(model) => h.push_str(&format!(
            "<p>Scores: model pack <code>{}</code> (manifest SHA-256 <code>{}</code>), threshold {}.{} \
             Scores say where footage is unusual; they are not findings.</p>\n",
            esc(&model.id),
            esc(&model.manifest_sha256),
            m.threshold.map_or_else(|| "–".to_string(), |t| format!("{t:.2}")),
            m.scores_provisional.as_ref().map_or_else(String::new, |stage| format!(
                " <strong>The scores were provisional</strong> ({}): this export was made while \
                 scoring ran, and the final scores may differ.",
                esc(stage)
            ))
        )),
        None => h.push_str("<p>The footage was not scored before this export.</p>\n"),
    }
    for (i, (c, p)) in m.clips.iter().zip(pictures).enumerate() {
        clip_html(&mut h, i, c, p);
    }
    h.push_str(
        "<h2>Checking this export</h2><p>Every file in this folder is listed with its SHA-256 in \
         <code>SHA256SUMS</code>. Run <code>sha256sum -c SHA256SUMS</code> in the folder, or \
         <code>vigil verify FOLDER</code>, which also reports files that are missing or were added.</p>\n",
    );
    match &m.signer {
        Some(s) => h.push_str(&format!(
            "<p><code>manifest.json</code> and <code>SHA256SUMS</code> are signed ({}, in \
             <code>SIGNATURE.json</code>) by the key with fingerprint <b><code>{}</code></b>. \
             <code>vigil verify --expect-key '{}' FOLDER</code> checks the signature and that it \
             was made with this key: a folder whose clips were changed and whose lists of hashes \
             were rewritten to match fails it.</p>\n",
            esc(&s.algorithm),
            esc(&s.fingerprint),
            esc(&s.fingerprint)
        )),
        None => h.push_str(
            "<p>This export is not signed: no signing key was set up where it was made \
             (<code>vigil key init</code>).</p>\n",
        ),
    }
    h.push_str("</body></html>\n");
    h
}

fn clip_html(h: &mut String, i: usize, c: &ClipRecord, p: &ClipPictures) {
    h.push_str(&format!(
        "<div class=\"clip\"><h2>Clip {}: {} – {}</h2>\n<p>{}</p>\n<div class=\"pics\">",
        i + 1,
        format_hms(c.shown.from_s),
        format_hms(c.shown.to_s),
        esc(&c.reason)
    ));
    if let Some(t) = &p.thumbnail {
        let at = c.peak_s.unwrap_or(c.shown.from_s);
        h.push_str(&format!(
            "<figure>{}<figcaption>Frame at {}</figcaption></figure>",
            img(t, "frame"),
            format_hms(at)
        ));
    }
    if let Some(pl) = &p.plot {
        h.push_str(&format!(
            "<figure>{}<figcaption>Scores around the clip (shaded)</figcaption></figure>",
            img(pl, "scores")
        ));
    }
    h.push_str("</div><table>");
    let wall = c.wall_clock_utc.as_ref().map_or_else(
        || "unknown (no recording clock in the container)".to_string(),
        |w| format!("{} to {} UTC (recorder's clock)", esc(&w.0), esc(&w.1)),
    );
    let lead = if c.lead_in_frames == 0 {
        "none: the clip starts on a keyframe".to_string()
    } else if c.lead_in_hidden {
        format!(
            "{} frame(s) from the keyframe at {} are carried for decoding and hidden by the edit list; players start at {}",
            c.lead_in_frames,
            format_hms(c.keyframe_s),
            format_hms(c.shown.from_s)
        )
    } else {
        format!(
            "the clip starts at the keyframe at {} ({:.3} s before the requested start)",
            format_hms(c.keyframe_s),
            c.requested.from_s - c.keyframe_s
        )
    };
    let rows = [
        (
            "File",
            format!("<code>{}</code> ({} bytes)", esc(&c.file), c.bytes),
        ),
        ("SHA-256", format!("<code>{}</code>", esc(&c.sha256))),
        (
            "Requested",
            format!(
                "{} – {}",
                format_hms(c.requested.from_s),
                format_hms(c.requested.to_s)
            ),
        ),
        (
            "Shown",
            format!(
                "{} – {}, source frames {} to {}",
                format_hms(c.shown.from_s),
                format_hms(c.shown.to_s),
                c.shown.first_frame,
                c.shown.last_frame
            ),
        ),
        ("Wall clock", wall),
        ("Gaps and damage", findings_words(c)),
        (
            "Method",
            format!("{}; {}", esc(&c.method), esc(&c.container_note)),
        ),
        (
            "Re-encoded frames",
            if c.reencoded_frames.is_empty() {
                "none".to_string()
            } else {
                c.reencoded_frames
                    .iter()
                    .map(|[a, b]| format!("source frames {a} to {b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("Lead-in", lead),
        ("Frame hashes", frame_hash_words(c)),
        (
            "End",
            if c.trailing_frames.is_empty() {
                "the clip ends at the requested time".to_string()
            } else {
                format!(
                    "after the last requested frame the clip also shows source frame(s) {} (frames before the end are decoded from them)",
                    c.trailing_frames
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ),
        (
            "Streams",
            format!(
                "{}{}",
                esc(&c.streams.join(", ")),
                if c.left_out.is_empty() {
                    String::new()
                } else {
                    format!("; left out: {}", esc(&c.left_out.join(", ")))
                }
            ),
        ),
        (
            "Peak score",
            c.peak_score.map_or_else(
                || "–".to_string(),
                |s| format!("{s:.2} at {}", format_hms(c.peak_s.unwrap_or(0.0))),
            ),
        ),
    ];
    for (k, v) in rows {
        h.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    if let Some(note) = &c.note {
        h.push_str(&format!("<tr><th>Note</th><td>{}</td></tr>", esc(note)));
    }
    h.push_str("</table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_is_a_png_of_the_asked_size() {
        let scores: Vec<(f64, f64, f32)> = (0..200)
            .map(|i| {
                (
                    f64::from(i) * 0.5,
                    f64::from(i) * 0.5 + 0.5,
                    if (90..100).contains(&i) { 0.9 } else { 0.1 },
                )
            })
            .collect();
        let png = score_plot_png(&scores, (45.0, 50.0), 0.5, 640, 200).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (640, 200));
    }

    #[test]
    fn html_escapes_what_it_quotes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

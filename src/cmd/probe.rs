//! `vigil probe`: the report of `video::probe_file`, as text or JSON. Exits 0 when vigil opens
//! every file given, 3 (footage) when it refuses one.

use crate::cli::ProbeArgs;
use crate::{EXIT_FOOTAGE, EXIT_OTHER, print_json};
use vigil::video::{ProbeReport, probe_file};

pub(crate) fn probe(args: &ProbeArgs) -> u8 {
    let mut code = 0u8;
    for (i, file) in args.files.iter().enumerate() {
        if crate::out::gone() {
            break;
        }
        let r = probe_file(file);
        if !r.verdict.opens {
            code = code.max(EXIT_FOOTAGE);
        }
        if args.json {
            if let Err(e) = print_json(&r) {
                eprintln!("vigil: error: cannot write the result: {e}");
                code = code.max(EXIT_OTHER);
            }
        } else {
            if i > 0 {
                outln!();
            }
            out!("{}", text(&r));
        }
    }
    code
}

fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "not stated".into(), |s| format!("{s:.3} s"))
}

/// The report in lines a person reads top to bottom: the verdict last, where the eye lands.
fn text(r: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let size = r
        .bytes
        .map_or_else(String::new, |b| format!(" ({b} bytes)"));
    let _ = writeln!(o, "file:       {}{size}", r.path);
    if let Some(c) = &r.container {
        let _ = writeln!(o, "container:  {} ({})", c.format, c.long_name);
        let guessed = if c.duration_guessed {
            " (guessed from the bit rate)"
        } else {
            ""
        };
        let _ = writeln!(o, "duration:   {}{guessed}", secs(c.duration_s));
        if let Some(t) = &c.creation_time {
            let _ = writeln!(o, "created:    {t} (the container's creation_time tag)");
        }
    }
    for s in &r.streams {
        let mut line = format!("stream #{}: {} {}", s.index, s.kind, s.codec);
        if let (Some(w), Some(h)) = (s.width, s.height) {
            let _ = write!(line, " {w}x{h}");
        }
        if let Some(f) = s.fps {
            let _ = write!(line, ", {f:.3} fps");
        }
        if s.frames_stated > 0 {
            let _ = write!(line, ", {} frames stated", s.frames_stated);
        }
        if let Some(f) = &s.field_order {
            let _ = write!(line, ", {f}");
        }
        if s.attached_picture {
            line.push_str(", cover art");
        }
        let _ = write!(line, ", time base {}", s.time_base);
        if r.verdict.stream == Some(s.index) {
            line.push_str("   <- scored");
        }
        let _ = writeln!(o, "{line}");
    }
    if let Some(p) = &r.packets {
        let _ = writeln!(
            o,
            "packets:    {} in stream #{} ({} keyframes, {} bytes), times {} to {}",
            p.packets,
            p.stream,
            p.keyframes,
            p.bytes,
            secs(p.first_s),
            secs(p.last_s)
        );
        let _ = writeln!(
            o,
            "timestamps: {} out of order, {} missing, {} gaps, {} corrupt packets",
            p.dts_not_increasing,
            p.untimed,
            p.gaps.len(),
            p.corrupt
        );
        for g in p.gaps.iter().take(10) {
            let _ = writeln!(
                o,
                "  gap {:.3} s to {:.3} s ({:.1} s without frames)",
                g.from_s,
                g.to_s,
                g.to_s - g.from_s
            );
        }
    }
    if let Some(f) = &r.first_frame {
        match (f.decoded, f.width, f.height) {
            (true, Some(w), Some(h)) => {
                let _ = writeln!(o, "first frame: decoded, {w}x{h}");
            }
            _ => {
                let _ = writeln!(
                    o,
                    "first frame: does not decode ({})",
                    f.error.as_deref().unwrap_or("no frame")
                );
            }
        }
    }
    match &r.verdict.refusal {
        Some(why) => {
            let _ = writeln!(o, "vigil:      refuses it: {why}");
        }
        None => {
            for (i, n) in r.verdict.notes.iter().enumerate() {
                let lead = if i == 0 { "vigil:     " } else { "           " };
                let _ = writeln!(o, "{lead} {n}");
            }
        }
    }
    o
}

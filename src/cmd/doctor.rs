//! `vigil doctor`: what this machine and the model pack can do, in a few lines.

use crate::EXIT_MODEL;
use crate::cli::*;
use vigil::model::{self, Device, Pack};
use vigil::pipeline::default_cache_root;

pub(crate) fn doctor(args: &DoctorArgs) -> u8 {
    let mut code = 0;
    match model::init_runtime() {
        Ok(rt) => outln!(
            "ONNX Runtime: {} (version {})",
            rt.path.display(),
            rt.version
        ),
        Err(e) => {
            outln!("ONNX Runtime: {e}");
            code = EXIT_MODEL;
        }
    }
    let dir = args.model.clone().unwrap_or_else(model::default_pack_dir);
    match Pack::load(&dir) {
        Ok(pack) => {
            outln!(
                "model pack: {} ({}) at {}; file hashes verified",
                pack.manifest.id,
                pack.manifest.name,
                dir.display()
            );
            let others: Vec<&str> = pack
                .manifest
                .other_scorers
                .iter()
                .map(model::ScorerSpec::kind)
                .collect();
            outln!(
                "  scorer: {} (default){}",
                pack.manifest.scorer.kind(),
                if others.is_empty() {
                    String::new()
                } else {
                    format!("; also {}", others.join(", "))
                }
            );
            if let Some(why) = &pack.manifest.scorer_choice {
                outln!("  why: {why}");
            }
            if let Some(b) = &pack.manifest.normal_bank {
                outln!(
                    "  normal bank: {} videos, {} clips, flags at {:.2} spreads (vigil bank show)",
                    b.sources.len(),
                    b.rows,
                    b.flag_z
                );
            }
            if code == 0 {
                for device in [Device::Cpu, Device::Auto] {
                    match model::Extractor::new(&pack, device, None) {
                        Ok(ex) => outln!(
                            "  --device {}: runs on {}{}",
                            if device == Device::Cpu { "cpu" } else { "auto" },
                            ex.execution_provider().name(),
                            ex.device_note()
                                .map_or_else(String::new, |n| format!(" ({n})"))
                        ),
                        Err(e) => {
                            outln!("  session: {e}");
                            code = EXIT_MODEL;
                        }
                    }
                }
            }
        }
        Err(e) => {
            outln!("model pack: {e}");
            code = EXIT_MODEL;
        }
    }
    match default_cache_root() {
        Some(c) => outln!("feature cache: {}", c.display()),
        None => outln!("feature cache: no cache folder could be determined"),
    }
    code
}

//! Small shared helpers for the PNG pictures in reports (evidence reports, ROC plots): PNG
//! encoding and the bundled font plotters draws text with.

use plotters::style::FontStyle;
use std::sync::Once;

/// Encodes packed RGB as PNG.
pub fn png_from_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Registers the bundled font as plotters' "sans-serif", once, so that plots look the same
/// everywhere and need no fontconfig.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .is_err()
        {
            tracing::warn!("plot font could not be registered; plots will have no text");
        }
    });
}

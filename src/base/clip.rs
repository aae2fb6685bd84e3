//! The clip contract between footage and a network: how many frames, at what rate, what size,
//! and how a frame is brought to that size. `model` reads it from a pack's manifest, `video`
//! produces clips to it; neither knows the other.

use serde::{Deserialize, Serialize};

/// How a frame is brought to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ResizeRule {
    /// The whole frame is resized to the model size, aspect ratio not kept. Nothing in view is
    /// cropped away, which matters for a fixed wide camera where an incident can happen at the
    /// edge of the picture.
    Stretch,
    /// The short side is resized to `short_side` (aspect kept), then the centre is cropped: the
    /// Kinetics evaluation protocol. Loses the sides of a wide view.
    ShortSideCenterCrop {
        /// Length of the short side after resizing, in pixels; at least the model size.
        short_side: u32,
    },
}

/// What a clip is made of: plain numbers, so that `video` needs no model types and a model's
/// manifest no video ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipSpec {
    /// Frames per clip.
    pub frames: u32,
    /// Frame rate the footage is resampled to.
    pub fps: f64,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// How frames are brought to `width`×`height`.
    pub resize: ResizeRule,
}

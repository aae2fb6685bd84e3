//! The cascade's change gate: a clip that shows nothing new reuses the features of the last clip
//! that went through the network, instead of running it again.
//!
//! The measure works on the coarse pass's pixels, which are decoded anyway, so it costs no
//! extra decoding. Each frame of a clip is reduced to a `GRID`×`GRID` grid of mean luma
//! (BT.601 weights; on the 112-pixel coarse frames one cell is 4×4 pixels, about 3×2 source
//! pixels of a 320×240 camera or 11×8 of a 1280×720 one). A clip is compared with the
//! *reference*, the last clip that went through the network, frame by frame in order. It counts
//! as a change when any of these hold:
//!
//! - **local change**: in some frame at least [`GateParams::min_cells`] cells differ from the
//!   same frame of the reference by more than [`GateParams::cell_delta`] luma levels (of 255):
//!   someone walking in, a car moving, a door opening. Motion inside the clip counts too, since
//!   a moving object cannot match a still reference in every frame;
//! - **global change**: the mean luma of the clip differs from the reference's by more than
//!   [`GateParams::mean_delta`] levels (lights on or off, a covered lens, a cut), or more than
//!   [`GateParams::global_share`] of the cells changed (the camera knocked or moved);
//! - **sharpness change**: the root-mean-square luma gradient of the clip is below
//!   [`GateParams::sharpness_ratio`] of the reference's or above its inverse (focus lost, a
//!   smeared or cleaned lens, fog).
//!
//! Comparing with the reference rather than the previous clip means slow drifts (dusk, a shadow
//! creeping) add up until they count, instead of slipping through a clip at a time.
//! The thresholds sit well above what compression and sensor noise move a 4×4 cell mean
//! (measured on the kit's cameras: under 3 levels) and below a walking figure's contrast. The
//! gate's price is stated plainly: a change smaller than two cells (a figure under about 8
//! pixels of a 112-pixel frame) reuses features.

use serde::{Deserialize, Serialize};

/// Cells per side of the luma grid.
pub const GRID: usize = 28;

/// Thresholds of the change rule; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GateParams {
    /// A cell changed when its mean luma moved by more than this (levels of 255).
    pub cell_delta: f32,
    /// A local change needs at least this many changed cells in one frame.
    pub min_cells: usize,
    /// A mean luma shift above this (levels) is a global change.
    pub mean_delta: f32,
    /// More than this share of changed cells in one frame is a global change.
    pub global_share: f32,
    /// Sharpness below this ratio of the reference's (or above its inverse) is a change.
    pub sharpness_ratio: f32,
}

impl Default for GateParams {
    fn default() -> Self {
        Self {
            cell_delta: 8.0,
            min_cells: 2,
            mean_delta: 3.0,
            global_share: 0.25,
            sharpness_ratio: 0.85,
        }
    }
}

/// What the gate keeps of a clip: its luma grids, mean and sharpness.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipSignature {
    /// `frames × GRID × GRID` cell means.
    cells: Vec<f32>,
    /// Mean luma of the whole clip.
    mean: f32,
    /// Root-mean-square luma gradient (right and down neighbours, full resolution). Squared,
    /// because a blur keeps the total rise across an edge and only spreads it: the sum of
    /// absolute steps barely moves, the sum of squares drops with the spread.
    sharpness: f32,
}

/// Why a clip counts as a change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// No reference yet (the first clip, or after a clip the network ran).
    First,
    /// Enough cells changed in some frame.
    Local {
        /// Most changed cells in one frame.
        cells: usize,
    },
    /// The whole picture changed: mean luma or most cells.
    Global,
    /// Focus or lens state changed.
    Sharpness,
}

impl ClipSignature {
    /// The signature of one clip of `frames` packed RGB frames of `width`×`height`.
    pub fn of_clip(pixels: &[u8], frames: usize, width: usize, height: usize) -> Self {
        let frame_bytes = width * height * 3;
        let mut cells = vec![0f32; frames * GRID * GRID];
        let mut counts = vec![0u32; GRID * GRID];
        let mut luma = vec![0f32; width * height];
        let (mut total, mut grad, mut grad_n) = (0f64, 0f64, 0u64);
        for (f, frame) in pixels.chunks_exact(frame_bytes).take(frames).enumerate() {
            for (l, px) in luma.iter_mut().zip(frame.chunks_exact(3)) {
                *l = 0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2]);
            }
            let grid = &mut cells[f * GRID * GRID..(f + 1) * GRID * GRID];
            counts.iter_mut().for_each(|c| *c = 0);
            for y in 0..height {
                let gy = y * GRID / height;
                for x in 0..width {
                    let v = luma[y * width + x];
                    let g = gy * GRID + x * GRID / width;
                    grid[g] += v;
                    counts[g] += 1;
                    total += f64::from(v);
                    if x + 1 < width && y + 1 < height {
                        let gx = luma[y * width + x + 1] - v;
                        let gy = luma[(y + 1) * width + x] - v;
                        grad += f64::from(gx * gx + gy * gy);
                        grad_n += 1;
                    }
                }
            }
            for (c, &n) in grid.iter_mut().zip(&counts) {
                *c /= n.max(1) as f32;
            }
        }
        let n = (frames * width * height).max(1) as f64;
        Self {
            cells,
            mean: (total / n) as f32,
            sharpness: (grad / grad_n.max(1) as f64).sqrt() as f32,
        }
    }

    /// Whether this clip shows a change against `reference`; None when it does not.
    pub fn change_from(&self, reference: &Self, p: &GateParams) -> Option<Change> {
        if (self.mean - reference.mean).abs() > p.mean_delta {
            return Some(Change::Global);
        }
        let (lo, hi) = (
            self.sharpness.min(reference.sharpness),
            self.sharpness.max(reference.sharpness),
        );
        // Near-black frames have no gradient to speak of; the mean rule covers them.
        if hi > 0.5 && lo < hi * p.sharpness_ratio {
            return Some(Change::Sharpness);
        }
        let per_frame = GRID * GRID;
        let mut most = 0;
        for (a, b) in self
            .cells
            .chunks_exact(per_frame)
            .zip(reference.cells.chunks_exact(per_frame))
        {
            let changed = a
                .iter()
                .zip(b)
                .filter(|(x, y)| (*x - *y).abs() > p.cell_delta)
                .count();
            most = most.max(changed);
        }
        if most as f32 > p.global_share * per_frame as f32 {
            Some(Change::Global)
        } else if most >= p.min_cells {
            Some(Change::Local { cells: most })
        } else {
            None
        }
    }
}

/// The gate's state while a file is read: the reference clip and what it has decided.
#[derive(Debug, Default)]
pub struct Gate {
    params: GateParams,
    reference: Option<(u64, ClipSignature)>,
}

impl Gate {
    /// A gate with `params` and no reference yet.
    pub fn new(params: GateParams) -> Self {
        Self {
            params,
            reference: None,
        }
    }

    /// Decides clip `index` from its signature: `Some(reference)` when it reuses that clip's
    /// features, `None` when it goes through the network (and becomes the new reference).
    pub fn decide(&mut self, index: u64, signature: ClipSignature) -> Option<u64> {
        let change = match &self.reference {
            None => Some(Change::First),
            Some((_, r)) => signature.change_from(r, &self.params),
        };
        match (change, &self.reference) {
            (None, Some((r, _))) => Some(*r),
            _ => {
                self.reference = Some((index, signature));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 112;
    const H: usize = 112;
    const T: usize = 8;

    /// A textured still scene (so that it has sharpness), with a deterministic speckle of
    /// `noise` levels.
    fn scene(noise: u8, seed: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity(T * W * H * 3);
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for _ in 0..T {
            for y in 0..H {
                for x in 0..W {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    let n = if noise == 0 {
                        0
                    } else {
                        (s % u32::from(noise)) as u8
                    };
                    let base = 60 + ((x / 7 + y / 5) % 4) as u8 * 30;
                    v.extend_from_slice(&[base + n, base + n, base + n]);
                }
            }
        }
        v
    }

    fn paint_box(v: &mut [u8], frame: usize, x0: usize, y0: usize, size: usize, value: u8) {
        for y in y0..y0 + size {
            for x in x0..x0 + size {
                let i = ((frame * H + y) * W + x) * 3;
                v[i..i + 3].copy_from_slice(&[value, value, value]);
            }
        }
    }

    fn sig(v: &[u8]) -> ClipSignature {
        ClipSignature::of_clip(v, T, W, H)
    }

    #[test]
    fn sensor_noise_is_no_change() {
        let p = GateParams::default();
        let a = sig(&scene(6, 1));
        let b = sig(&scene(6, 2));
        assert_eq!(b.change_from(&a, &p), None);
    }

    #[test]
    fn a_small_figure_walking_in_is_a_local_change() {
        let p = GateParams::default();
        let a = sig(&scene(4, 1));
        let mut v = scene(4, 2);
        // An 8×8 pixel figure (two cells wide) in the last three frames.
        for f in 5..T {
            paint_box(&mut v, f, 40 + 2 * f, 60, 8, 250);
        }
        assert!(matches!(
            sig(&v).change_from(&a, &p),
            Some(Change::Local { cells }) if cells >= 2
        ));
    }

    #[test]
    fn one_cell_of_change_reuses() {
        let p = GateParams::default();
        let a = sig(&scene(0, 1));
        let mut v = scene(0, 1);
        paint_box(&mut v, 3, 44, 44, 4, 250);
        assert_eq!(sig(&v).change_from(&a, &p), None);
    }

    #[test]
    fn lights_and_blur_are_global_changes() {
        let p = GateParams::default();
        let a = sig(&scene(2, 1));
        let darker: Vec<u8> = scene(2, 2).iter().map(|&x| x.saturating_sub(6)).collect();
        assert_eq!(sig(&darker).change_from(&a, &p), Some(Change::Global));
        // A 3×3 box blur (a lost focus) keeps the mean but spreads every edge.
        let sharp = scene(0, 1);
        let mut blurred = sharp.clone();
        for f in 0..T {
            for y in 1..H - 1 {
                for x in 1..W - 1 {
                    let i = |x: usize, y: usize| ((f * H + y) * W + x) * 3;
                    let mut sum = 0u16;
                    for dy in 0..3 {
                        for dx in 0..3 {
                            sum += u16::from(sharp[i(x + dx - 1, y + dy - 1)]);
                        }
                    }
                    blurred[i(x, y)..i(x, y) + 3].copy_from_slice(&[(sum / 9) as u8; 3]);
                }
            }
        }
        assert_eq!(
            sig(&blurred).change_from(&sig(&sharp), &p),
            Some(Change::Sharpness)
        );
    }

    #[test]
    fn the_gate_compares_with_the_last_network_clip_so_drift_adds_up() {
        let mut gate = Gate::new(GateParams {
            mean_delta: 3.5,
            ..GateParams::default()
        });
        let mut decisions = Vec::new();
        // Light fading by 1 level per clip: no single step is a change, the sum is.
        for i in 0..8u64 {
            let v: Vec<u8> = scene(0, 1).iter().map(|&x| x - i as u8).collect();
            decisions.push(gate.decide(i, sig(&v)));
        }
        assert_eq!(decisions[0], None, "the first clip always runs");
        assert_eq!(&decisions[1..4], &[Some(0), Some(0), Some(0)]);
        assert_eq!(decisions[4], None, "4 levels from clip 0: runs");
        assert_eq!(decisions[5], Some(4), "the new reference is clip 4");
    }
}

//! Raster primitives on an RGB24 buffer.
//!
//! Shapes fill the pixels whose centres they cover, without antialiasing: CCTV footage is
//! compressed and noisy anyway, and hard edges keep the kit fast (a frame of a few dozen figures
//! draws in well under a millisecond) and byte-for-byte reproducible. Every shape is clipped, and
//! non-finite coordinates draw nothing, so a bad number in a scene can never panic or flood a
//! frame.

use std::ops::Range;

/// One pixel, red-green-blue.
pub(crate) type Rgb = [u8; 3];

/// How a shape changes the pixels it covers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Paint {
    /// Replace with a colour.
    Solid(Rgb),
    /// Mix towards a colour by `alpha` (0..1).
    Blend(Rgb, f32),
    /// Multiply by a factor (shadows).
    Shade(f32),
}

/// An RGB24 image, rows top to bottom, no padding.
#[derive(Clone, Debug)]
pub(crate) struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

/// Pixel indices `i` in `0..n` whose centre `i + 0.5` lies in `[a, b]`; empty for non-finite bounds.
fn centres(a: f32, b: f32, n: usize) -> Range<usize> {
    if !(a.is_finite() && b.is_finite()) || b < a {
        return 0..0;
    }
    let lo = (a - 0.5).ceil().max(0.0);
    let hi = ((b - 0.5).floor() + 1.0).min(n as f32);
    if lo >= hi {
        return 0..0;
    }
    lo as usize..hi as usize
}

fn clamp_u8(v: f32) -> u8 {
    v.clamp(0.0, 255.0) as u8
}

impl Canvas {
    /// A black canvas.
    pub fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            px: vec![0; w * h * 3],
        }
    }

    /// Copies `other` in when it has the same size (it always does inside one video).
    pub fn copy_from(&mut self, other: &Canvas) {
        if self.px.len() == other.px.len() {
            self.px.copy_from_slice(&other.px);
        } else {
            *self = other.clone();
        }
    }

    /// Applies `paint` to pixels `xs` of row `y`.
    fn span(&mut self, y: usize, xs: Range<usize>, paint: Paint) {
        let row = y * self.w * 3;
        let Some(pixels) = self.px.get_mut(row + xs.start * 3..row + xs.end * 3) else {
            return;
        };
        match paint {
            Paint::Solid(c) => {
                for p in pixels.chunks_exact_mut(3) {
                    p.copy_from_slice(&c);
                }
            }
            Paint::Blend(c, a) => {
                let a = a.clamp(0.0, 1.0);
                for p in pixels.chunks_exact_mut(3) {
                    for k in 0..3 {
                        let v = f32::from(p[k]);
                        p[k] = clamp_u8(v + (f32::from(c[k]) - v) * a);
                    }
                }
            }
            Paint::Shade(f) => {
                let f = f.clamp(0.0, 4.0);
                for v in pixels.iter_mut() {
                    *v = clamp_u8(f32::from(*v) * f);
                }
            }
        }
    }

    /// Axis-aligned box from `(x0, y0)` to `(x1, y1)`.
    pub fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, paint: Paint) {
        let xs = centres(x0.min(x1), x0.max(x1), self.w);
        for y in centres(y0.min(y1), y0.max(y1), self.h) {
            self.span(y, xs.clone(), paint);
        }
    }

    /// Ellipse with radii `rx`, `ry`; radii below 0.75 px are raised so the shape never vanishes.
    pub fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, paint: Paint) {
        let (rx, ry) = (rx.max(0.75), ry.max(0.75));
        for y in centres(cy - ry, cy + ry, self.h) {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let half = rx * (1.0 - dy * dy).max(0.0).sqrt();
            let xs = centres(cx - half, cx + half, self.w);
            self.span(y, xs, paint);
        }
    }

    /// Disc of radius `r`.
    pub fn disc(&mut self, cx: f32, cy: f32, r: f32, paint: Paint) {
        self.ellipse(cx, cy, r, r, paint);
    }

    /// Convex polygon (any winding). Concave input fills its row-wise hull.
    pub fn convex(&mut self, pts: &[(f32, f32)], paint: Paint) {
        if pts.len() < 3 {
            return;
        }
        let (mut top, mut bottom) = (f32::INFINITY, f32::NEG_INFINITY);
        for &(_, y) in pts {
            top = top.min(y);
            bottom = bottom.max(y);
        }
        for y in centres(top, bottom, self.h) {
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            row_extent(pts, y as f32 + 0.5, &mut lo, &mut hi);
            if lo <= hi {
                self.span(y, centres(lo, hi, self.w), paint);
            }
        }
    }

    /// Thick line with round ends: every pixel within `r` of the segment `a`–`b`.
    pub fn capsule(&mut self, a: (f32, f32), b: (f32, f32), r: f32, paint: Paint) {
        let r = r.max(0.75);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let top = a.1.min(b.1) - r;
        let bottom = a.1.max(b.1) + r;
        for y in centres(top, bottom, self.h) {
            let yc = y as f32 + 0.5;
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            // The round ends.
            for &(px, py) in &[a, b] {
                let d = r * r - (yc - py) * (yc - py);
                if d >= 0.0 {
                    let s = d.sqrt();
                    lo = lo.min(px - s);
                    hi = hi.max(px + s);
                }
            }
            // The band between them: points whose projection falls inside the segment and
            // whose distance to the line is at most r, intersected with this row.
            if len2 > 1e-6 {
                let len = len2.sqrt();
                let (nx, ny) = (-dy / len, dx / len);
                let quad = [
                    (a.0 + nx * r, a.1 + ny * r),
                    (b.0 + nx * r, b.1 + ny * r),
                    (b.0 - nx * r, b.1 - ny * r),
                    (a.0 - nx * r, a.1 - ny * r),
                ];
                row_extent(&quad, yc, &mut lo, &mut hi);
            }
            if lo <= hi {
                self.span(y, centres(lo, hi, self.w), paint);
            }
        }
    }

    /// Soft additive light: `colour` scaled by `(1 - d²/r²)²` inside radius `r` (y squashed by
    /// `squash`, for pools of light on the ground seen at an angle).
    pub fn glow(&mut self, cx: f32, cy: f32, r: f32, squash: f32, colour: [f32; 3]) {
        if !(r > 0.5 && squash > 0.01) {
            return;
        }
        let ry = r * squash;
        for y in centres(cy - ry, cy + ry, self.h) {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let half = r * (1.0 - dy * dy).max(0.0).sqrt();
            let row = y * self.w * 3;
            for x in centres(cx - half, cx + half, self.w) {
                let dx = (x as f32 + 0.5 - cx) / r;
                let k = (1.0 - dx * dx - dy * dy).max(0.0);
                let k = k * k;
                if let Some(p) = self.px.get_mut(row + x * 3..row + x * 3 + 3) {
                    for c in 0..3 {
                        p[c] = clamp_u8(f32::from(p[c]) + colour[c] * k);
                    }
                }
            }
        }
    }

    /// Adds the same light to every pixel (a flash).
    pub fn add_all(&mut self, colour: [f32; 3]) {
        for p in self.px.chunks_exact_mut(3) {
            for c in 0..3 {
                p[c] = clamp_u8(f32::from(p[c]) + colour[c]);
            }
        }
    }

    /// Box blur of radius `r`, rows then columns, edges clamped. `scratch` is reused.
    pub fn box_blur(&mut self, r: usize, scratch: &mut Vec<u8>) {
        if r == 0 || self.w == 0 || self.h == 0 {
            return;
        }
        scratch.resize(self.px.len(), 0);
        let (w, h) = (self.w, self.h);
        let n = (2 * r + 1) as u32;
        // Rows: self → scratch.
        for y in 0..h {
            let row = y * w * 3;
            for c in 0..3 {
                let at = |x: isize| -> u32 {
                    let x = x.clamp(0, w as isize - 1) as usize;
                    u32::from(self.px[row + x * 3 + c])
                };
                let mut sum: u32 = (-(r as isize)..=r as isize).map(at).sum();
                for x in 0..w {
                    scratch[row + x * 3 + c] = (sum / n) as u8;
                    sum = sum + at(x as isize + r as isize + 1) - at(x as isize - r as isize);
                }
            }
        }
        // Columns: scratch → self.
        for x in 0..w {
            for c in 0..3 {
                let at = |y: isize| -> u32 {
                    let y = y.clamp(0, h as isize - 1) as usize;
                    u32::from(scratch[y * w * 3 + x * 3 + c])
                };
                let mut sum: u32 = (-(r as isize)..=r as isize).map(at).sum();
                for y in 0..h {
                    self.px[y * w * 3 + x * 3 + c] = (sum / n) as u8;
                    sum = sum + at(y as isize + r as isize + 1) - at(y as isize - r as isize);
                }
            }
        }
    }

    /// Writes into `dst` this image turned by `angle` (radians), scaled by `zoom` about the
    /// centre and moved by `(dx, dy)` pixels; nearest neighbour, edges clamped, so a knocked
    /// camera shows smeared borders rather than black.
    pub fn warp_into(&self, dst: &mut Canvas, angle: f32, zoom: f32, dx: f32, dy: f32) {
        if dst.px.len() != self.px.len() {
            *dst = self.clone();
        }
        let zoom = if zoom.is_finite() && zoom > 0.05 {
            zoom
        } else {
            1.0
        };
        let (s, c) = (angle.sin(), angle.cos());
        let (cx, cy) = (self.w as f32 / 2.0, self.h as f32 / 2.0);
        let (wm, hm) = (self.w as f32 - 1.0, self.h as f32 - 1.0);
        for y in 0..self.h {
            let ry = y as f32 + 0.5 - cy - dy;
            for x in 0..self.w {
                let rx = x as f32 + 0.5 - cx - dx;
                let sx = ((c * rx + s * ry) / zoom + cx).clamp(0.0, wm.max(0.0)) as usize;
                let sy = ((-s * rx + c * ry) / zoom + cy).clamp(0.0, hm.max(0.0)) as usize;
                let (si, di) = ((sy * self.w + sx) * 3, (y * self.w + x) * 3);
                dst.px[di..di + 3].copy_from_slice(&self.px[si..si + 3]);
            }
        }
    }

    /// Draws `text` with a 3×5 pixel font, each font pixel `scale` pixels wide, with a dark
    /// outline so it reads on any background (the on-screen display of a DVR).
    pub fn text(&mut self, x: f32, y: f32, scale: f32, text: &str, colour: Rgb) {
        for pass in 0..2 {
            let mut pen = x;
            for ch in text.chars() {
                let rows = glyph(ch);
                for (j, bits) in rows.iter().enumerate() {
                    for i in 0..3 {
                        if bits & (0b100 >> i) == 0 {
                            continue;
                        }
                        let px = pen + i as f32 * scale;
                        let py = y + j as f32 * scale;
                        if pass == 0 {
                            self.rect(
                                px - 1.0,
                                py - 1.0,
                                px + scale + 1.0,
                                py + scale + 1.0,
                                Paint::Solid([16, 16, 16]),
                            );
                        } else {
                            self.rect(px, py, px + scale, py + scale, Paint::Solid(colour));
                        }
                    }
                }
                pen += 4.0 * scale;
            }
        }
    }
}

/// Widens `[lo, hi]` to where the row at height `yc` crosses the polygon's edges.
fn row_extent(pts: &[(f32, f32)], yc: f32, lo: &mut f32, hi: &mut f32) {
    for i in 0..pts.len() {
        let (ax, ay) = pts[i];
        let (bx, by) = pts[(i + 1) % pts.len()];
        if !((ay <= yc && yc <= by) || (by <= yc && yc <= ay)) {
            continue;
        }
        if (by - ay).abs() < 1e-6 {
            *lo = lo.min(ax.min(bx));
            *hi = hi.max(ax.max(bx));
        } else {
            let x = ax + (yc - ay) * (bx - ax) / (by - ay);
            *lo = lo.min(x);
            *hi = hi.max(x);
        }
    }
}

/// Rows of a 3×5 glyph, bit 2 leftmost; unknown characters are blank.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b011, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'C' => [0b111, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        _ => [0; 5],
    }
}

/// A repeatable pseudo-random number in `[0, 1)` for integer cell coordinates: static texture
/// (slabs, windows, grain) comes from position, not from the scene's random stream, so it costs
/// nothing to keep it identical from frame to frame.
pub(crate) fn hash01(a: i32, b: i32, salt: u32) -> f32 {
    let mut h = (a as u32 as u64) | ((b as u32 as u64) << 32);
    h ^= u64::from(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    (h >> 40) as f32 / (1u64 << 24) as f32
}

/// `c` scaled per channel by `m` (lighting), saturating.
pub(crate) fn lit(c: [f32; 3], m: [f32; 3]) -> Rgb {
    [
        clamp_u8(c[0] * m[0]),
        clamp_u8(c[1] * m[1]),
        clamp_u8(c[2] * m[2]),
    ]
}

/// A colour as floats for lighting arithmetic.
pub(crate) fn rgbf(c: Rgb) -> [f32; 3] {
    [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])]
}

/// `a` mixed towards `b` by `k`.
pub(super) fn mix(a: [f32; 3], b: [f32; 3], k: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * k,
        a[1] + (b[1] - a[1]) * k,
        a[2] + (b[2] - a[2]) * k,
    ]
}

/// `a` scaled by `k`.
pub(super) fn mul(a: [f32; 3], k: f32) -> [f32; 3] {
    [a[0] * k, a[1] * k, a[2] * k]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(c: &Canvas, v: Rgb) -> usize {
        c.px.chunks_exact(3).filter(|p| p == &v).count()
    }

    #[test]
    fn shapes_clip_and_ignore_nan() {
        let mut c = Canvas::new(20, 10);
        c.rect(-5.0, -5.0, 100.0, 100.0, Paint::Solid([1, 2, 3]));
        assert_eq!(count(&c, [1, 2, 3]), 200);
        let mut c = Canvas::new(20, 10);
        c.disc(f32::NAN, 3.0, 4.0, Paint::Solid([9, 9, 9]));
        c.capsule(
            (f32::INFINITY, 0.0),
            (3.0, 3.0),
            2.0,
            Paint::Solid([9, 9, 9]),
        );
        c.convex(
            &[(0.0, 0.0), (f32::NAN, 5.0), (5.0, 5.0)],
            Paint::Solid([9, 9, 9]),
        );
        assert!(count(&c, [9, 9, 9]) < 40);
        // Tiny shapes still mark a pixel.
        let mut c = Canvas::new(20, 10);
        c.disc(5.3, 5.9, 0.1, Paint::Solid([7, 7, 7]));
        assert!(count(&c, [7, 7, 7]) >= 1);
    }

    #[test]
    fn capsule_covers_its_segment() {
        let mut c = Canvas::new(40, 40);
        c.capsule((5.0, 5.0), (30.0, 30.0), 2.0, Paint::Solid([255, 0, 0]));
        for t in 0..=10 {
            let p = 5.0 + 25.0 * t as f32 / 10.0;
            let i = (p as usize * 40 + p as usize) * 3;
            assert_eq!(&c.px[i..i + 3], &[255, 0, 0]);
        }
        assert_eq!(c.px[(35 * 40 + 2) * 3], 0);
    }

    #[test]
    fn blur_and_warp_keep_size_and_mean() {
        let mut c = Canvas::new(16, 12);
        c.rect(4.0, 4.0, 12.0, 8.0, Paint::Solid([200, 200, 200]));
        let mut s = Vec::new();
        let before: u32 = c.px.iter().map(|&v| u32::from(v)).sum();
        c.box_blur(2, &mut s);
        let after: u32 = c.px.iter().map(|&v| u32::from(v)).sum();
        assert!((before as f32 - after as f32).abs() / (before as f32) < 0.1);
        let mut d = Canvas::new(16, 12);
        c.warp_into(&mut d, 0.0, 1.0, 0.0, 0.0);
        assert_eq!(c.px, d.px);
    }
}

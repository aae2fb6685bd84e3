//! Camera tampering: something dark slides over the lens, the image is smeared soft, or the
//! camera is knocked so the view turns, shifts and shakes before it settles.

use super::draw::{Canvas, Paint, Rgb};
use super::scene::Scene;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::TAU;

/// How the camera is tampered with.
#[derive(Clone, Copy, Debug)]
pub(super) enum Tamper {
    /// Something dark slides over the lens from `from` (unit direction it comes from).
    Cover {
        from: (f32, f32),
        rest: f32,
        tint: Rgb,
        fingers: bool,
        in_s: f32,
        out_s: f32,
    },
    /// The image goes soft and hazy.
    Blur {
        radius: f32,
        haze: Rgb,
        in_s: f32,
        out_s: f32,
    },
    /// The camera is knocked: the view turns and shifts, shakes, then stays put.
    Knock {
        angle: f32,
        shift: (f32, f32),
        zoom: f32,
        freq: f32,
        decay: f32,
    },
}

/// Picks a way of tampering and its timing within the span `[t0, t1)`.
pub(super) fn plan_tamper(s: &mut Scene, t0: f32, t1: f32) -> Tamper {
    let len = t1 - t0;
    let rng = &mut s.rng;
    match rng.random_range(0..10u32) {
        0..=3 => {
            let a = rng.random_range(0.0f32..TAU);
            let dark = rng.random_range(12u8..35);
            let tint = if rng.random_bool(0.5) {
                [dark + 10, dark + 4, dark]
            } else {
                [dark, dark, dark + 2]
            };
            Tamper::Cover {
                from: (a.cos(), a.sin()),
                rest: rng.random_range(0.0f32..0.7),
                tint,
                fingers: rng.random_bool(0.6),
                in_s: rng.random_range(0.3f32..0.8).min(len * 0.3),
                out_s: rng.random_range(0.3f32..0.7).min(len * 0.3),
            }
        }
        4..=6 => Tamper::Blur {
            radius: s.cam.w * rng.random_range(0.025f32..0.06),
            haze: [[200, 200, 195], [120, 120, 120], [170, 160, 140]][rng.random_range(0..3)],
            in_s: rng.random_range(0.3f32..0.8).min(len * 0.3),
            out_s: rng.random_range(0.3f32..0.7).min(len * 0.3),
        },
        _ => {
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            Tamper::Knock {
                angle: sign * rng.random_range(0.08f32..0.35),
                shift: (
                    rng.random_range(-0.18f32..0.18) * s.cam.w,
                    rng.random_range(-0.18f32..0.18) * s.cam.h,
                ),
                zoom: rng.random_range(1.1f32..1.35),
                freq: rng.random_range(4.0f32..9.0),
                decay: rng.random_range(0.4f32..1.0).min(len * 0.35),
            }
        }
    }
}

/// Ramp 0→1 over `in_s` after `t0`, 1→0 over `out_s` before `t1`.
pub(super) fn envelope(t: f32, t0: f32, t1: f32, in_s: f32, out_s: f32) -> f32 {
    if t < t0 || t >= t1 {
        return 0.0;
    }
    let a = ((t - t0) / in_s.max(0.05)).min(1.0);
    let b = ((t1 - t) / out_s.max(0.05)).min(1.0);
    a.min(b)
}

/// Applies tampering `tm` to the frame at time `t`.
#[allow(clippy::too_many_arguments)]
pub(super) fn tamper(
    c: &mut Canvas,
    scratch: &mut Canvas,
    buf: &mut Vec<u8>,
    tm: Tamper,
    t: f32,
    t0: f32,
    t1: f32,
    rng: &mut ChaCha8Rng,
) {
    let (w, h) = (c.w as f32, c.h as f32);
    match tm {
        Tamper::Cover {
            from,
            rest,
            tint,
            fingers,
            in_s,
            out_s,
        } => {
            let k = envelope(t, t0, t1, in_s, out_s);
            if k <= 0.0 {
                return;
            }
            // Ease in and out; the blob rests slightly off centre, trembling.
            let e = k * k * (3.0 - 2.0 * k);
            let far = 1.9 - rest;
            let (rx, ry) = (w * 0.85, h * 0.95);
            let tremble = (
                rng.random_range(-0.01f32..0.01) * w,
                rng.random_range(-0.01f32..0.01) * h,
            );
            let cx = w / 2.0 + from.0 * w * (rest + far * (1.0 - e)) + tremble.0;
            let cy = h / 2.0 + from.1 * h * (rest + far * (1.0 - e)) + tremble.1;
            // Out of focus edge, then the body, then a faint sheen.
            c.ellipse(cx, cy, rx * 1.12, ry * 1.12, Paint::Blend(tint, 0.55));
            c.ellipse(cx, cy, rx, ry, Paint::Solid(tint));
            c.ellipse(
                cx - rx * 0.2,
                cy - ry * 0.25,
                rx * 0.35,
                ry * 0.25,
                Paint::Blend([tint[0] + 25, tint[1] + 20, tint[2] + 18], 0.5),
            );
            if fingers {
                // Fingertips reaching ahead of the palm.
                let (dx, dy) = (-from.0, -from.1);
                let (nx, ny) = (-dy, dx);
                for i in 0..4 {
                    let o = (i as f32 - 1.5) * 0.16;
                    let base = (
                        cx + dx * rx * 0.7 + nx * o * w,
                        cy + dy * ry * 0.7 + ny * o * h,
                    );
                    let tip = (base.0 + dx * w * 0.28, base.1 + dy * h * 0.28);
                    c.capsule(base, tip, w * 0.055, Paint::Solid(tint));
                }
            }
        }
        Tamper::Blur {
            radius,
            haze,
            in_s,
            out_s,
        } => {
            let k = envelope(t, t0, t1, in_s, out_s);
            if k <= 0.0 {
                return;
            }
            let r = (radius * k).round() as usize;
            c.box_blur(r, buf);
            c.box_blur(r / 2 + 1, buf);
            c.rect(0.0, 0.0, w, h, Paint::Blend(haze, 0.45 * k));
        }
        Tamper::Knock {
            angle,
            shift,
            zoom,
            freq,
            decay,
        } => {
            if t < t0 {
                return;
            }
            let u = t - t0;
            let settle = (-u / decay.max(0.05)).exp();
            let wob = (TAU * freq * u).sin() * settle;
            let wob2 = (TAU * freq * 1.3 * u + 1.0).cos() * settle;
            let a = angle + 0.12 * wob;
            let dx = shift.0 + 0.08 * w * wob2;
            let dy = shift.1 + 0.06 * h * wob;
            c.warp_into(scratch, a, zoom, dx, dy);
            std::mem::swap(c, scratch);
            if settle > 0.3 {
                // Motion blur while the camera swings.
                c.box_blur(((settle * 4.0) as usize).max(1), buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_ramps() {
        assert_eq!(envelope(0.5, 1.0, 3.0, 0.5, 0.5), 0.0);
        assert!((envelope(1.25, 1.0, 3.0, 0.5, 0.5) - 0.5).abs() < 1e-5);
        assert_eq!(envelope(2.0, 1.0, 3.0, 0.5, 0.5), 1.0);
        assert_eq!(envelope(3.0, 1.0, 3.0, 0.5, 0.5), 0.0);
    }
}

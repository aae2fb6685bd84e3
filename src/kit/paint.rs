//! Painting the static scene: the ground (asphalt, markings, slabs, grass, parking bays) and
//! the facades, skyline and sky behind it, lit and grained once per video; and the street
//! furniture, drawn each frame so that people and cars pass in front of and behind it.

use super::camera::{Camera, Lighting, Tod};
use super::draw::{Canvas, Paint, Rgb, hash01, lit, mix, mul};
use super::layout::{Layout, Prop, PropKind, Surface};
use super::vehicle::{VehiclePose, draw_vehicle};

/// Smooth value noise on a lattice of `cell` metres, in `[0, 1)`.
pub(super) fn vnoise(x: f32, z: f32, cell: f32, salt: u32) -> f32 {
    let (gx, gz) = (x / cell, z / cell);
    let (ix, iz) = (gx.floor(), gz.floor());
    let (fx, fz) = (gx - ix, gz - iz);
    let (sx, sz) = (fx * fx * (3.0 - 2.0 * fx), fz * fz * (3.0 - 2.0 * fz));
    let (i, j) = (ix as i32, iz as i32);
    let a = hash01(i, j, salt);
    let b = hash01(i + 1, j, salt);
    let c = hash01(i, j + 1, salt);
    let d = hash01(i + 1, j + 1, salt);
    a + (b - a) * sx + (c - a) * sz + (a - b - c + d) * sx * sz
}

impl Layout {
    /// Paints ground, facades and sky under `light`, with static grain, once per video.
    pub fn bake(&self, cam: &Camera, light: &Lighting) -> Canvas {
        let (w, h) = (cam.w as usize, cam.h as usize);
        let mut c = Canvas::new(w, h);
        let facade_row = cam.row_of_z(self.z_far);
        for y in 0..h {
            let yc = y as f32 + 0.5;
            for x in 0..w {
                let xc = x as f32 + 0.5;
                let (colour, emissive) = if yc >= facade_row {
                    let z = cam.z_at_row(yc).unwrap_or(self.z_far);
                    let gx = cam.x_at(xc, z);
                    (lit(self.ground(gx, z), light.at(gx, z)), None)
                } else {
                    let ppm = cam.ppm(self.z_far);
                    let fx = (xc - cam.cx) / ppm;
                    let up = (facade_row - yc) / ppm;
                    self.facade(fx, up, yc / cam.h, light)
                };
                let grain = 1.0 + 0.07 * (hash01(x as i32, y as i32, self.salt ^ 0x5eed) - 0.5);
                let px = match emissive {
                    Some(e) => e,
                    None => colour,
                };
                let i = (y * w + x) * 3;
                for (dst, &v) in c.px[i..i + 3].iter_mut().zip(px.iter()) {
                    *dst = (f32::from(v) * grain).clamp(0.0, 255.0) as u8;
                }
            }
        }
        c
    }

    /// Surface colour (unlit) of the ground at `(x, z)`.
    pub(super) fn ground(&self, x: f32, z: f32) -> [f32; 3] {
        let s = self.salt;
        let blotch = vnoise(x, z, 1.7, s ^ 1);
        let fine = vnoise(x, z, 0.35, s ^ 2);
        let white = [215.0, 215.0, 205.0];
        let (r0, r1) = self.road;
        if let Some((s0, s1)) = self.side
            && x >= s0
            && x < s1
            && z < r0
        {
            let mut c = mul(self.asphalt, 0.9 + 0.2 * blotch + 0.06 * fine);
            let mid = (s0 + s1) / 2.0;
            if (x - mid).abs() < 0.07 && (z.rem_euclid(4.0)) < 2.0 && z < self.side_zebra.0 {
                c = white;
            }
            if z > r0 - 1.7 && z < r0 - 1.3 && x > mid {
                c = white;
            }
            if z > self.side_zebra.0 && z < self.side_zebra.1 && (x - s0).rem_euclid(1.0) < 0.5 {
                c = mix(white, c, 0.25 * fine);
            }
            return c;
        }
        let Some(band) = self.band_at(z) else {
            return mul(self.paving, 0.9);
        };
        match band.surface {
            Surface::Road => {
                let mut c = mul(self.asphalt, 0.88 + 0.22 * blotch + 0.08 * fine);
                // Oil down the middle of each lane.
                for &(lz, _) in &self.lanes {
                    if (z - lz).abs() < 0.5 {
                        c = mul(c, 0.93 + 0.07 * vnoise(x, z, 3.0, s ^ 3));
                    }
                }
                let in_box = self
                    .side
                    .is_some_and(|(s0, s1)| x > s0 - 1.0 && x < s1 + 1.0);
                let paint = |c: [f32; 3], p: [f32; 3]| mix(c, p, 0.85 - 0.35 * fine);
                if let Some(xc) = self.crossing
                    && (x - xc).abs() < 2.0
                    && z > r0 + 0.3
                    && z < r1 - 0.3
                {
                    if ((z - r0) / 0.5).floor() as i32 % 2 == 0 {
                        return paint(c, white);
                    }
                    return c;
                }
                if !in_box {
                    if (z - r0 - 0.3).abs() < 0.06 || (z - r1 + 0.3).abs() < 0.06 {
                        return paint(c, white);
                    }
                    for k in 1..self.lanes.len() {
                        let zb = (self.lanes[k - 1].0 + self.lanes[k].0) / 2.0;
                        let centre = self.lanes[k - 1].1 != self.lanes[k].1;
                        if centre && self.yellow_centre {
                            if (z - zb).abs() > 0.06 && (z - zb).abs() < 0.18 {
                                return paint(c, [210.0, 170.0, 40.0]);
                            }
                        } else if (z - zb).abs() < 0.07 && (centre || x.rem_euclid(9.0) < 3.0) {
                            return paint(c, white);
                        }
                    }
                }
                if let Some((s0, s1)) = self.side {
                    let mid_z = (r0 + r1) / 2.0;
                    if (z < mid_z && (x - (s0 - 2.7)).abs() < 0.2)
                        || (z >= mid_z && (x - (s1 + 2.7)).abs() < 0.2)
                    {
                        return paint(c, white);
                    }
                }
                c
            }
            Surface::Sidewalk | Surface::Plaza => {
                let plaza = band.surface == Surface::Plaza;
                let slab = if plaza { self.slab * 1.6 } else { self.slab };
                let (ix, iz) = ((x / slab).floor(), (z / slab).floor());
                let (fx, fz) = (x / slab - ix, z / slab - iz);
                let tone = 0.94 + 0.1 * hash01(ix as i32, iz as i32, s ^ 4);
                let mut c =
                    if plaza && ((ix as i32 + iz as i32) % 2 == 0) ^ ((iz as i32 / 6) % 2 == 0) {
                        mul(self.paving2, tone)
                    } else {
                        mul(self.paving, tone)
                    };
                c = mul(c, 0.92 + 0.12 * blotch);
                let joint = 0.05 / slab;
                if fx < joint || fz < joint {
                    c = mul(c, 0.78);
                }
                // Kerb stones along the road.
                if (band.z1 - z < 0.22 && (band.z1 - r0).abs() < 0.01)
                    || (z - band.z0 < 0.22 && (band.z0 - r1).abs() < 0.01)
                {
                    c = mix(c, [205.0, 205.0, 200.0], 0.6);
                }
                c
            }
            Surface::Grass => {
                let g = 0.75 + 0.35 * blotch + 0.2 * fine;
                [62.0 * g, 100.0 * g, 45.0 * g]
            }
            Surface::Parking => {
                let mut c = mul(self.asphalt, 1.1 + 0.2 * blotch + 0.06 * fine);
                let edge = (z - band.z0).min(band.z1 - z);
                let toward_road = if band.z1 <= r0 + 0.01 {
                    band.z1 - z
                } else {
                    z - band.z0
                };
                if (x + 1.3).rem_euclid(2.6) < 0.1 && toward_road > 0.4 {
                    c = white;
                }
                if edge < 0.12 && toward_road > 0.4 {
                    c = white;
                }
                c
            }
        }
    }

    /// Colour of the backdrop at facade x `fx` and height `up`; emissive for lit windows.
    pub(super) fn facade(
        &self,
        fx: f32,
        up: f32,
        row_frac: f32,
        light: &Lighting,
    ) -> ([u8; 3], Option<Rgb>) {
        let m = {
            let full = light.at(fx, self.z_far - 0.5);
            let k = (1.0 - (up - 4.0) / 6.0).clamp(0.0, 1.0);
            mix(light.ambient, full, k)
        };
        let sky = || {
            let (top, low) = light.sky;
            let k = row_frac.clamp(0.0, 1.0).sqrt();
            let c = mix(top, low, k);
            [c[0] as u8, c[1] as u8, c[2] as u8]
        };
        // Distant skyline, hazy.
        let skyline = |fx: f32, up: f32| -> Option<[u8; 3]> {
            let cell = (fx / 7.0).floor() as i32;
            let hgt = 8.0 + 22.0 * hash01(cell, 7, self.salt ^ 9);
            (up < hgt).then(|| {
                let (top, low) = light.sky;
                let base = mix(mix(top, low, 0.7), [110.0, 112.0, 118.0], 0.45);
                let c = mul(base, 0.85 + 0.1 * hash01(cell, 3, self.salt));
                [c[0] as u8, c[1] as u8, c[2] as u8]
            })
        };
        if let Some((hgt, colour)) = self.wall {
            if up < hgt {
                let mut c = colour;
                if fx.rem_euclid(3.0) < 0.06 || (hgt - up) < 0.15 {
                    c = mul(c, 0.75);
                }
                c = mul(c, 0.95 + 0.1 * vnoise(fx, up, 0.6, self.salt ^ 11));
                return (lit(c, m), None);
            }
            for &(tx, ty, tr) in &self.trees_behind {
                let d = ((fx - tx).powi(2) + (up - ty).powi(2) * 1.3).sqrt();
                if d < tr * (0.85 + 0.2 * vnoise(fx, up, 0.7, self.salt ^ 12)) {
                    let g = 0.7 + 0.3 * vnoise(fx, up, 0.5, self.salt ^ 13);
                    return (lit([50.0 * g, 85.0 * g, 40.0 * g], light.ambient), None);
                }
                if (fx - tx).abs() < 0.15 && up < ty {
                    return (lit([70.0, 55.0, 40.0], light.ambient), None);
                }
            }
            return (skyline(fx, up).unwrap_or_else(sky), None);
        }
        let Some(b) = self.buildings.iter().find(|b| fx >= b.x0 && fx < b.x1) else {
            // An alley between buildings: dark and deep.
            let c = if up < 6.0 {
                [40.0, 40.0, 44.0]
            } else {
                [0.0; 3]
            };
            if up < 6.0 {
                return (lit(c, light.ambient), None);
            }
            return (skyline(fx, up).unwrap_or_else(sky), None);
        };
        if up >= b.height {
            return (skyline(fx, up).unwrap_or_else(sky), None);
        }
        let lx = fx - b.x0;
        let mut c = mul(b.wall, 0.95 + 0.08 * vnoise(fx, up, 0.8, b.salt));
        if b.height - up < 0.35 || lx < 0.12 || b.x1 - fx < 0.12 {
            return (lit(mul(c, 0.72), m), None);
        }
        if up < b.floor_h {
            // Ground floor: shop windows under an awning, or a plain base.
            if let Some(awning) = b.shop {
                if up > 2.35 && up < 2.85 {
                    let stripe = if (lx * 2.0).floor() as i32 % 2 == 0 {
                        1.0
                    } else {
                        0.85
                    };
                    return (lit(mul(awning, stripe), m), None);
                }
                let u = lx.rem_euclid(4.5);
                if up < 2.3 && u > 0.4 && u < 4.1 {
                    if up < 0.35 {
                        return (lit(mul(c, 0.6), m), None);
                    }
                    let glass = mix(
                        [45.0, 55.0, 65.0],
                        [150.0, 160.0, 170.0],
                        0.3 * vnoise(fx, up, 0.9, b.salt ^ 5),
                    );
                    if light.tod == Tod::Night || light.tod == Tod::Dusk {
                        let on = hash01((lx / 4.5) as i32, 0, b.salt) < 0.6;
                        if on {
                            return (lit(glass, m), Some([235, 215, 170]));
                        }
                    }
                    return (lit(glass, m), None);
                }
            }
            c = mul(c, 0.85);
            return (lit(c, m), None);
        }
        let fy = up.rem_euclid(b.floor_h);
        let bays = ((b.x1 - b.x0) / b.bay).floor().max(1.0);
        let bay = (b.x1 - b.x0) / bays;
        let u = lx.rem_euclid(bay);
        let win_w = b.win_w.min(bay - 0.4);
        let (w0, w1) = ((bay - win_w) / 2.0, (bay + win_w) / 2.0);
        if u > w0 && u < w1 && fy > 0.9 && fy < 0.9 + b.win_h {
            let (col, row) = ((lx / bay) as i32, (up / b.floor_h) as i32);
            let r = hash01(col, row, b.salt ^ 6);
            if r < light.windows_lit {
                let k = 0.55 + 0.4 * hash01(col, row, b.salt ^ 7);
                return (
                    [0; 3],
                    Some([(255.0 * k) as u8, (205.0 * k) as u8, (130.0 * k) as u8]),
                );
            }
            let glass = mix([40.0, 48.0, 60.0], [130.0, 150.0, 170.0], 0.5 * r);
            // Frames split windows in two.
            if (u - (w0 + w1) / 2.0).abs() < 0.04 {
                return (lit(mul(c, 0.8), m), None);
            }
            return (lit(glass, m), None);
        }
        if u > w0 - 0.05 && u < w1 + 0.05 && fy > 0.8 && fy <= 0.9 {
            return (lit(mul(c, 1.12), m), None);
        }
        (lit(c, m), None)
    }
}

/// Draws one prop; `t` drives the traffic lights.
pub(crate) fn draw_prop(
    c: &mut Canvas,
    cam: &Camera,
    light: &Lighting,
    layout: &Layout,
    p: &Prop,
    t: f32,
) {
    let m = light.at(p.x, p.z);
    let ppm = cam.ppm(p.z);
    let at = |dx: f32, up: f32| cam.project(p.x + dx, up, p.z);
    let col = |rgb: [f32; 3]| lit(rgb, m);
    let (sx, sz) = light.sun;
    let shadow = |c: &mut Canvas, tall: f32, r: f32| {
        let a = cam.project(p.x, 0.0, p.z);
        let b = cam.project(p.x + sx * tall, 0.0, p.z + sz * tall);
        c.capsule(a, b, r * ppm, Paint::Shade(light.shadow));
    };
    match p.kind {
        PropKind::Lamp => {
            shadow(c, 5.0, 0.08);
            let pole = col([70.0, 72.0, 75.0]);
            c.capsule(at(0.0, 0.0), at(0.0, 5.2), 0.07 * ppm, Paint::Solid(pole));
            c.capsule(at(0.0, 5.2), at(0.7, 5.4), 0.05 * ppm, Paint::Solid(pole));
            let (hx, hy) = at(0.8, 5.3);
            if light.lamps_on {
                c.ellipse(hx, hy, 0.3 * ppm, 0.12 * ppm, Paint::Solid([255, 240, 200]));
                c.glow(hx, hy, 1.6 * ppm, 1.0, [110.0, 95.0, 60.0]);
            } else {
                c.ellipse(
                    hx,
                    hy,
                    0.3 * ppm,
                    0.12 * ppm,
                    Paint::Solid(col([200.0, 200.0, 190.0])),
                );
            }
        }
        PropKind::Tree { crown, tone } => {
            shadow(c, 2.5, crown * 0.5);
            c.capsule(
                at(0.0, 0.0),
                at(0.0, 2.6),
                0.13 * ppm,
                Paint::Solid(col([80.0, 60.0, 45.0])),
            );
            for (i, &(dx, up, k)) in [
                (-0.5, 3.0, 0.8),
                (0.55, 3.2, 0.75),
                (0.0, 3.8, 0.85),
                (0.1, 3.3, 1.0),
            ]
            .iter()
            .enumerate()
            {
                let (x, y) = at(dx * crown, up + crown * 0.3);
                let shade = 0.85 + 0.1 * i as f32;
                c.disc(x, y, crown * k * ppm, Paint::Solid(col(mul(tone, shade))));
            }
        }
        PropKind::Bench => {
            let (a, b) = (at(-0.8, 0.45), at(0.8, 0.45));
            c.capsule(
                at(-0.7, 0.0),
                at(-0.7, 0.45),
                0.04 * ppm,
                Paint::Solid(col([40.0; 3])),
            );
            c.capsule(
                at(0.7, 0.0),
                at(0.7, 0.45),
                0.04 * ppm,
                Paint::Solid(col([40.0; 3])),
            );
            c.capsule(a, b, 0.07 * ppm, Paint::Solid(col([120.0, 85.0, 55.0])));
            c.capsule(
                at(-0.8, 0.8),
                at(0.8, 0.8),
                0.06 * ppm,
                Paint::Solid(col([110.0, 80.0, 50.0])),
            );
        }
        PropKind::Bin => {
            let (x0, y0) = at(-0.25, 0.9);
            let (x1, y1) = at(0.25, 0.0);
            c.rect(x0, y0, x1, y1, Paint::Solid(col([40.0, 70.0, 50.0])));
            c.rect(
                x0,
                y0,
                x1,
                y0 + 0.08 * ppm,
                Paint::Solid(col([30.0, 30.0, 30.0])),
            );
        }
        PropKind::Bollard => {
            c.capsule(
                at(0.0, 0.0),
                at(0.0, 0.9),
                0.09 * ppm,
                Paint::Solid(col([55.0, 55.0, 58.0])),
            );
            c.capsule(
                at(0.0, 0.75),
                at(0.0, 0.8),
                0.095 * ppm,
                Paint::Solid(col([200.0, 200.0, 200.0])),
            );
        }
        PropKind::Planter => {
            let (x0, y0) = at(-0.9, 0.6);
            let (x1, y1) = at(0.9, 0.0);
            c.rect(x0, y0, x1, y1, Paint::Solid(col([150.0, 145.0, 135.0])));
            for k in 0..4 {
                let (x, y) = at(-0.65 + 0.43 * k as f32, 0.75);
                c.disc(
                    x,
                    y,
                    0.3 * ppm,
                    Paint::Solid(col([50.0, 95.0 + 8.0 * k as f32, 45.0])),
                );
            }
        }
        PropKind::Parked { look, heading } => {
            let pose = VehiclePose {
                x: p.x,
                z: p.z,
                heading,
                lights_on: false,
                braking: false,
            };
            draw_vehicle(c, cam, light, &look, &pose);
        }
        PropKind::Signal { group } => {
            let pole = col([55.0, 57.0, 60.0]);
            c.capsule(at(0.0, 0.0), at(0.0, 3.2), 0.07 * ppm, Paint::Solid(pole));
            let (x0, y0) = at(-0.18, 3.9);
            let (x1, y1) = at(0.18, 2.9);
            c.rect(x0, y0, x1, y1, Paint::Solid([25, 25, 25]));
            let aspect = layout.signals.map_or(2, |s| s.aspect(t, group));
            for (k, colour) in [
                (2u8, [255u8, 40, 30]),
                (1, [255, 180, 20]),
                (0, [40, 230, 90]),
            ] {
                let (lx, ly) = at(0.0, 3.75 - 0.33 * f32::from(2 - k));
                if aspect == k {
                    c.disc(lx, ly, 0.12 * ppm, Paint::Solid(colour));
                    c.glow(
                        lx,
                        ly,
                        0.6 * ppm,
                        1.0,
                        [
                            f32::from(colour[0]) * 0.4,
                            f32::from(colour[1]) * 0.4,
                            f32::from(colour[2]) * 0.4,
                        ],
                    );
                } else {
                    c.disc(lx, ly, 0.1 * ppm, Paint::Solid([45, 45, 45]));
                }
            }
        }
    }
}

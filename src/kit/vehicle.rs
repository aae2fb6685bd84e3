//! Vehicles: how they look (stacks of boxes seen from a raised camera), the paths they follow,
//! and how they drive (steady speed, following, stopping for people, red lights and wrecks).

use super::camera::{Camera, Lighting};
use super::draw::{Canvas, Paint, Rgb, lit, rgbf};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Body shapes, with their sizes in metres.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Model {
    Car,
    Suv,
    Van,
    Truck,
    Bus,
}

/// One vehicle's appearance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VehicleLook {
    pub model: Model,
    pub len: f32,
    pub wid: f32,
    pub body: Rgb,
    /// Cargo box of a truck; roof of a bus.
    pub second: Rgb,
}

const BODY_COLOURS: [Rgb; 14] = [
    [235, 235, 232],
    [200, 202, 205],
    [150, 152, 156],
    [40, 42, 46],
    [22, 22, 26],
    [160, 30, 30],
    [30, 60, 140],
    [70, 110, 170],
    [30, 80, 50],
    [215, 180, 40],
    [120, 90, 60],
    [200, 100, 30],
    [95, 25, 40],
    [225, 225, 215],
];

impl VehicleLook {
    /// A vehicle of a common kind; buses and trucks only when `big` is allowed.
    pub fn random(rng: &mut ChaCha8Rng, big: bool) -> Self {
        let r = rng.random_range(0..100u32);
        let model = match r {
            0..=54 => Model::Car,
            55..=77 => Model::Suv,
            78..=89 => Model::Van,
            90..=95 if big => Model::Truck,
            96..=99 if big => Model::Bus,
            _ => Model::Car,
        };
        let (len, wid) = match model {
            Model::Car => (
                rng.random_range(4.0f32..4.8),
                rng.random_range(1.7f32..1.85),
            ),
            Model::Suv => (
                rng.random_range(4.5f32..5.0),
                rng.random_range(1.85f32..2.0),
            ),
            Model::Van => (
                rng.random_range(4.8f32..5.6),
                rng.random_range(1.9f32..2.05),
            ),
            Model::Truck => (rng.random_range(6.5f32..8.0), rng.random_range(2.2f32..2.4)),
            Model::Bus => (rng.random_range(10.5f32..12.0), 2.5),
        };
        let body = BODY_COLOURS[rng.random_range(0..BODY_COLOURS.len())];
        let second = match model {
            Model::Truck => {
                [[230, 230, 225], [190, 190, 185], [60, 90, 150]][rng.random_range(0..3)]
            }
            _ => body,
        };
        Self {
            model,
            len,
            wid,
            body,
            second,
        }
    }
}

/// A box of a vehicle: from `f0` to `f1` along its length, `hw` to each side, `up0`..`up1` high.
struct Slab {
    f0: f32,
    f1: f32,
    hw: f32,
    up0: f32,
    up1: f32,
    side: [f32; 3],
    top: [f32; 3],
}

fn scale(c: Rgb, k: f32) -> [f32; 3] {
    let c = rgbf(c);
    [c[0] * k, c[1] * k, c[2] * k]
}

const GLASS: [f32; 3] = [38.0, 48.0, 62.0];

fn slabs(l: &VehicleLook) -> Vec<Slab> {
    let (h, w) = (l.len / 2.0, l.wid / 2.0);
    let body_side = scale(l.body, 0.72);
    let body_top = rgbf(l.body);
    let s = |f0, f1, hw, up0, up1, side, top| Slab {
        f0,
        f1,
        hw,
        up0,
        up1,
        side,
        top,
    };
    match l.model {
        Model::Car => vec![
            s(-h, h, w, 0.28, 0.82, body_side, body_top),
            s(
                -h + 0.85,
                h - 1.35,
                w - 0.13,
                0.82,
                1.42,
                GLASS,
                scale(l.body, 0.95),
            ),
        ],
        Model::Suv => vec![
            s(-h, h, w, 0.35, 1.0, body_side, body_top),
            s(
                -h + 0.35,
                h - 1.25,
                w - 0.1,
                1.0,
                1.75,
                GLASS,
                scale(l.body, 0.95),
            ),
        ],
        Model::Van => vec![
            s(-h, h, w, 0.3, 1.0, body_side, body_top),
            s(
                -h + 0.1,
                h - 0.95,
                w - 0.05,
                1.0,
                2.05,
                scale(l.body, 0.8),
                body_top,
            ),
            s(h - 0.95, h - 0.75, w - 0.1, 1.0, 1.8, GLASS, GLASS),
        ],
        Model::Truck => vec![
            s(h - 2.0, h, w - 0.05, 0.45, 1.3, body_side, body_top),
            s(h - 1.9, h - 0.2, w - 0.1, 1.3, 2.4, GLASS, body_top),
            s(
                -h,
                h - 2.2,
                w,
                0.7,
                3.1,
                scale(l.second, 0.78),
                rgbf(l.second),
            ),
        ],
        Model::Bus => vec![
            s(-h, h, w, 0.35, 1.25, body_side, body_top),
            s(-h, h, w - 0.02, 1.25, 2.45, GLASS, GLASS),
            s(-h, h, w, 2.45, 3.0, body_side, scale(l.second, 0.9)),
        ],
    }
}

/// Convex hull of up to eight points (monotone chain); returns the points and their count.
fn hull(mut pts: [(f32, f32); 8]) -> ([(f32, f32); 16], usize) {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut out = [(0.0, 0.0); 16];
    let mut k = 0usize;
    for &p in pts.iter() {
        while k >= 2 && cross(out[k - 2], out[k - 1], p) <= 0.0 {
            k -= 1;
        }
        out[k] = p;
        k += 1;
    }
    let lower = k + 1;
    for &p in pts.iter().rev().skip(1) {
        while k >= lower && cross(out[k - 2], out[k - 1], p) <= 0.0 {
            k -= 1;
        }
        if k < out.len() {
            out[k] = p;
            k += 1;
        }
    }
    (out, k.saturating_sub(1).max(1))
}

/// Where a vehicle stands and what its lamps are doing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VehiclePose {
    pub x: f32,
    pub z: f32,
    /// Direction of travel on the ground, radians from +x towards +z.
    pub heading: f32,
    pub lights_on: bool,
    pub braking: bool,
}

/// Draws a vehicle: shadow, wheels, then its boxes bottom to top (hull in the side colour, top
/// face in the top colour), then lamps.
pub(crate) fn draw_vehicle(
    c: &mut Canvas,
    cam: &Camera,
    light: &Lighting,
    look: &VehicleLook,
    pose: &VehiclePose,
) {
    let m = light.at(pose.x, pose.z);
    let (ch, sh) = (pose.heading.cos(), pose.heading.sin());
    let at = |f: f32, l: f32, up: f32| -> (f32, f32) {
        cam.project(pose.x + ch * f - sh * l, up, pose.z + sh * f + ch * l)
    };
    let (h, w) = (look.len / 2.0, look.wid / 2.0);
    // Shadow: the footprint pushed away from the sun, then a darker contact patch.
    let (sx, sz) = light.sun;
    let lift = 0.7;
    let foot = [(-h, -w), (h, -w), (h, w), (-h, w)];
    let mut shadow = [(0.0, 0.0); 8];
    for (i, &(f, l)) in foot.iter().enumerate() {
        let gx = pose.x + ch * f - sh * l;
        let gz = pose.z + sh * f + ch * l;
        shadow[i] = cam.project(gx, 0.0, gz);
        shadow[i + 4] = cam.project(gx + sx * lift * 1.5, 0.0, gz + sz * lift * 1.5);
    }
    let (sh_pts, n) = hull(shadow);
    c.convex(&sh_pts[..n], Paint::Shade(light.shadow));
    let contact: Vec<(f32, f32)> = foot
        .iter()
        .map(|&(f, l)| at(f * 1.02, l * 1.05, 0.0))
        .collect();
    c.convex(&contact, Paint::Shade(0.75));
    // Wheels.
    let ppm = cam.ppm(pose.z);
    let wheel = lit([18.0, 18.0, 20.0], m);
    let axle = (h - 0.85).max(0.5);
    for &(f, l) in &[
        (axle, w - 0.2),
        (-axle, w - 0.2),
        (axle, -w + 0.2),
        (-axle, -w + 0.2),
    ] {
        let (x, y) = at(f, l, 0.33);
        c.disc(x, y, 0.33 * ppm, Paint::Solid(wheel));
    }
    for s in slabs(look) {
        let mut p = [(0.0, 0.0); 8];
        for (i, &(f, l)) in [(s.f0, -s.hw), (s.f1, -s.hw), (s.f1, s.hw), (s.f0, s.hw)]
            .iter()
            .enumerate()
        {
            p[i] = at(f, l, s.up0);
            p[i + 4] = at(f, l, s.up1);
        }
        let (hp, n) = hull(p);
        c.convex(&hp[..n], Paint::Solid(lit(s.side, m)));
        c.convex(&p[4..8], Paint::Solid(lit(s.top, m)));
    }
    // Lamps: head at the front, tail at the back.
    let r = (0.13 * ppm).max(0.8);
    for side in [-1.0f32, 1.0] {
        let (fx, fy) = at(h + 0.02, side * (w - 0.3), 0.65);
        let (bx, by) = at(-h - 0.02, side * (w - 0.3), 0.75);
        if pose.lights_on {
            c.disc(fx, fy, r * 1.2, Paint::Solid([255, 250, 225]));
            c.glow(fx, fy, 6.0 * r, 1.0, [90.0, 85.0, 60.0]);
            c.disc(bx, by, r, Paint::Solid([255, 40, 30]));
            c.glow(bx, by, 4.0 * r, 1.0, [80.0, 5.0, 0.0]);
        } else {
            c.disc(fx, fy, r, Paint::Solid(lit([225.0, 225.0, 215.0], m)));
            let tail = if pose.braking {
                [255, 30, 20]
            } else {
                lit([150.0, 20.0, 20.0], m)
            };
            c.disc(bx, by, r, Paint::Solid(tail));
        }
    }
    if pose.lights_on {
        // The beam's pool on the road ahead.
        let (gx, gy) = at(h + 4.5, 0.0, 0.0);
        c.glow(gx, gy, 4.0 * ppm, 0.45, [45.0, 42.0, 32.0]);
    }
}

/// A polyline on the ground that vehicles follow, with its cumulative length.
#[derive(Clone, Debug, Default)]
pub(crate) struct Path {
    pts: Vec<(f32, f32)>,
    cum: Vec<f32>,
}

impl Path {
    /// A path through `pts` (at least two distinct points for it to have length).
    pub fn new(pts: Vec<(f32, f32)>) -> Self {
        let mut cum = Vec::with_capacity(pts.len());
        let mut acc = 0.0;
        for i in 0..pts.len() {
            if i > 0 {
                let (a, b) = (pts[i - 1], pts[i]);
                acc += ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
            }
            cum.push(acc);
        }
        Self { pts, cum }
    }

    /// Total length, metres.
    pub fn len(&self) -> f32 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// Position and heading at distance `s` along the path (clamped to its ends).
    pub fn at(&self, s: f32) -> (f32, f32, f32) {
        if self.pts.len() < 2 {
            let p = self.pts.first().copied().unwrap_or((0.0, 10.0));
            return (p.0, p.1, 0.0);
        }
        let s = s.clamp(0.0, self.len());
        let i = self
            .cum
            .partition_point(|&c| c <= s)
            .clamp(1, self.pts.len() - 1);
        let (a, b) = (self.pts[i - 1], self.pts[i]);
        let seg = (self.cum[i] - self.cum[i - 1]).max(1e-6);
        let k = ((s - self.cum[i - 1]) / seg).clamp(0.0, 1.0);
        (
            a.0 + (b.0 - a.0) * k,
            a.1 + (b.1 - a.1) * k,
            (b.1 - a.1).atan2(b.0 - a.0),
        )
    }
}

/// Which signal phase lets a path go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Main,
    Side,
}

/// How a vehicle moves now.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Motion {
    /// Along path `path` at distance `s`.
    Path { path: usize, s: f32 },
    /// Sliding freely after an impact, slowing by friction.
    Free { vx: f32, vz: f32, spin: f32 },
}

/// Something a driver must not drive into: its centre, heading and half extents.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Obstacle {
    pub x: f32,
    pub z: f32,
    pub heading: f32,
    pub half_len: f32,
    pub half_wid: f32,
    pub vx: f32,
    pub vz: f32,
}

/// One vehicle in the scene.
#[derive(Clone, Debug)]
pub(crate) struct Vehicle {
    pub look: VehicleLook,
    pub motion: Motion,
    pub x: f32,
    pub z: f32,
    pub heading: f32,
    /// Speed now and the speed it wants, m/s.
    pub v: f32,
    pub cruise: f32,
    /// Stop line (distance along the path) and the signal group it obeys.
    pub stop: Option<(f32, Group)>,
    /// Driven by an incident: ignores obstacles and signals.
    pub scripted: bool,
    pub gone: bool,
    pub braking: bool,
    /// Head and tail lamps lit (night, most cars at dusk).
    pub lights: bool,
    /// Visual shake after an impact (metres), decaying.
    pub shake: f32,
}

impl Vehicle {
    /// A vehicle at the start of `path`.
    pub fn on_path(look: VehicleLook, path: usize, paths: &[Path], cruise: f32) -> Self {
        let (x, z, heading) = paths.get(path).map_or((0.0, 10.0, 0.0), |p| p.at(0.0));
        Self {
            look,
            motion: Motion::Path { path, s: 0.0 },
            x,
            z,
            heading,
            v: cruise,
            cruise,
            stop: None,
            scripted: false,
            gone: false,
            braking: false,
            lights: false,
            shake: 0.0,
        }
    }

    /// This vehicle as an obstacle for others.
    pub fn obstacle(&self) -> Obstacle {
        Obstacle {
            x: self.x,
            z: self.z,
            heading: self.heading,
            half_len: self.look.len / 2.0,
            half_wid: self.look.wid / 2.0,
            vx: self.v * self.heading.cos(),
            vz: self.v * self.heading.sin(),
        }
    }

    /// Free distance ahead to the nearest obstacle in its corridor (`self_index` skips itself).
    fn gap_ahead(&self, obstacles: &[Obstacle], self_index: usize) -> f32 {
        let (dx, dz) = (self.heading.cos(), self.heading.sin());
        let mut gap = f32::INFINITY;
        for (i, o) in obstacles.iter().enumerate() {
            if i == self_index {
                continue;
            }
            let (rx, rz) = (o.x - self.x, o.z - self.z);
            let along = rx * dx + rz * dz;
            if along <= 0.0 || along > 40.0 {
                continue;
            }
            let lateral = (rx * dz - rz * dx).abs();
            let rel = o.heading - self.heading;
            let (c, s) = (rel.cos().abs(), rel.sin().abs());
            let o_along = c * o.half_len + s * o.half_wid;
            let o_lat = s * o.half_len + c * o.half_wid;
            if lateral < self.look.wid / 2.0 + o_lat + 0.35 {
                gap = gap.min(along - self.look.len / 2.0 - o_along);
            }
        }
        gap
    }

    /// Advances one step: obeys the car ahead, people on the road, its stop line, then moves.
    pub fn step(
        &mut self,
        dt: f32,
        paths: &[Path],
        obstacles: &[Obstacle],
        self_index: usize,
        red: impl Fn(Group) -> bool,
    ) {
        match self.motion {
            Motion::Path { path, s } => {
                let Some(p) = paths.get(path) else {
                    self.gone = true;
                    return;
                };
                let mut target = self.cruise;
                if !self.scripted {
                    const BRAKE: f32 = 3.5;
                    let gap = self.gap_ahead(obstacles, self_index);
                    target = target.min((2.0 * BRAKE * (gap - 2.0).max(0.0)).sqrt());
                    if let Some((line, group)) = self.stop
                        && red(group)
                    {
                        let front = s + self.look.len / 2.0;
                        let d = line - front;
                        // A driver who can no longer stop comfortably goes through.
                        if d > -0.5 && self.v * self.v / (2.0 * 5.0) <= d + 1.0 {
                            target = target.min((2.0 * BRAKE * d.max(0.0)).sqrt());
                        }
                    }
                }
                let dv = (target - self.v).clamp(-7.0 * dt, 2.2 * dt);
                self.braking = dv < -0.5 * dt && !self.scripted;
                self.v = (self.v + dv).max(0.0);
                let s = s + self.v * dt;
                if s >= p.len() {
                    self.gone = true;
                }
                let (x, z, heading) = p.at(s);
                self.x = x;
                self.z = z;
                self.heading = heading;
                self.motion = Motion::Path { path, s };
            }
            Motion::Free { vx, vz, spin } => {
                // Tyres skid: speed and spin fall off fast.
                let sp = (vx * vx + vz * vz).sqrt();
                let k = if sp > 1e-3 {
                    (sp - 8.0 * dt).max(0.0) / sp
                } else {
                    0.0
                };
                let spin_k = (1.0 - 3.5 * dt).max(0.0);
                self.x += vx * dt;
                self.z += vz * dt;
                self.heading += spin * dt;
                self.v = sp * k;
                self.motion = Motion::Free {
                    vx: vx * k,
                    vz: vz * k,
                    spin: if spin.abs() < 0.05 {
                        0.0
                    } else {
                        spin * spin_k
                    },
                };
                self.braking = false;
            }
        }
        self.shake = (self.shake - dt * 0.5).max(0.0);
    }

    /// Pose for drawing, with the impact shake applied.
    pub fn pose(&self, jitter: (f32, f32)) -> VehiclePose {
        VehiclePose {
            x: self.x + jitter.0 * self.shake,
            z: self.z + jitter.1 * self.shake,
            heading: self.heading,
            lights_on: self.lights,
            braking: self.braking,
        }
    }
}

#[cfg(test)]
mod tests;

//! People: their clothes, their walking gait, and how they follow a route of waypoints (walking,
//! standing about, waiting at the kerb until the road is clear).

use super::camera::{Camera, Lighting};
use super::draw::{Canvas, Paint, Rgb, lit, rgbf};
use super::vehicle::Obstacle;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::{PI, TAU};

/// What a person wears and how tall they are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Look {
    /// Metres.
    pub height: f32,
    /// Build, 0.85 (slim) to 1.25 (broad).
    pub build: f32,
    pub skin: Rgb,
    pub hair: Rgb,
    pub top: Rgb,
    pub bottom: Rgb,
    /// A long coat covers the thighs.
    pub coat: bool,
    pub bag: Option<Rgb>,
}

const SKIN: [Rgb; 6] = [
    [240, 200, 170],
    [225, 180, 145],
    [200, 150, 110],
    [165, 115, 80],
    [120, 80, 55],
    [85, 58, 40],
];
const HAIR: [Rgb; 6] = [
    [20, 18, 16],
    [55, 38, 25],
    [95, 65, 40],
    [190, 160, 100],
    [150, 150, 150],
    [120, 50, 25],
];
const TOPS: [Rgb; 16] = [
    [235, 235, 235],
    [25, 25, 28],
    [120, 120, 125],
    [30, 45, 90],
    [180, 35, 35],
    [40, 110, 60],
    [220, 190, 60],
    [110, 75, 45],
    [220, 120, 160],
    [70, 150, 200],
    [240, 140, 40],
    [90, 40, 110],
    [170, 160, 130],
    [60, 70, 60],
    [200, 60, 90],
    [150, 190, 220],
];
const BOTTOMS: [Rgb; 8] = [
    [45, 65, 110],
    [60, 85, 130],
    [25, 25, 30],
    [80, 80, 85],
    [160, 145, 110],
    [90, 70, 50],
    [130, 130, 140],
    [50, 50, 70],
];

impl Look {
    /// An adult (or now and then a child) in everyday clothes.
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        let child = rng.random_bool(0.07);
        let height = if child {
            rng.random_range(1.05f32..1.4)
        } else {
            rng.random_range(1.55f32..1.95)
        };
        Self {
            height,
            build: rng.random_range(0.85f32..1.25),
            skin: SKIN[rng.random_range(0..SKIN.len())],
            hair: HAIR[rng.random_range(0..HAIR.len())],
            top: TOPS[rng.random_range(0..TOPS.len())],
            bottom: BOTTOMS[rng.random_range(0..BOTTOMS.len())],
            coat: rng.random_bool(0.2),
            bag: rng
                .random_bool(0.3)
                .then(|| [[30, 30, 30], [120, 60, 30], [60, 60, 120]][rng.random_range(0..3)]),
        }
    }
}

/// How a figure is posed in one frame.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pose {
    pub x: f32,
    pub z: f32,
    /// Direction of travel or gaze on the ground, radians from +x towards +z.
    pub heading: f32,
    /// Gait phase, radians.
    pub phase: f32,
    /// Stride size: 0 standing, 1 walking, up to 1.8 running.
    pub stride: f32,
    /// Turn of the whole body in the image plane about the feet (falling, lying), radians.
    pub tilt: f32,
    /// Forward lean of the upper body (running, fighting), in body heights.
    pub lean: f32,
    /// Arm angles from hanging down, radians, overriding the walking swing (flailing).
    pub arms: Option<[f32; 2]>,
}

/// Draws a figure: shadow, legs, torso, arms, head, from a skeleton in body heights turned by
/// `tilt` about the feet.
pub(crate) fn draw_person(c: &mut Canvas, cam: &Camera, light: &Lighting, look: &Look, p: &Pose) {
    let hp = look.height * cam.ppm(p.z);
    let (fx, fy) = cam.project(p.x, 0.0, p.z);
    let m = light.at(p.x, p.z);
    let col = |rgb: Rgb| lit(rgbf(rgb), m);
    let shade = |rgb: Rgb, k: f32| {
        let f = rgbf(rgb);
        lit([f[0] * k, f[1] * k, f[2] * k], m)
    };
    let (st, ct) = (p.tilt.sin(), p.tilt.cos());
    let to = |lx: f32, ly: f32| -> (f32, f32) {
        (
            fx + hp * (lx * ct + ly * st),
            fy - hp * (-lx * st + ly * ct),
        )
    };

    // Shadow on the ground.
    if p.tilt.abs() < 0.6 {
        let (sx, sz) = light.sun;
        let (ex, ey) = cam.project(
            p.x + sx * look.height * 0.8,
            0.0,
            p.z + sz * look.height * 0.8,
        );
        c.capsule((fx, fy), (ex, ey), 0.16 * hp, Paint::Shade(light.shadow));
    } else {
        let (ax, ay) = to(0.0, 0.0);
        let (bx, by) = to(0.0, 0.9);
        c.capsule(
            (ax, ay + 0.03 * hp),
            (bx, by + 0.03 * hp),
            0.1 * hp,
            Paint::Shade(0.7),
        );
    }

    let side = p.heading.cos(); // +1 facing right, -1 left
    let depth = p.heading.sin(); // +1 facing away
    let front = 1.0 - side.abs();
    let b = look.build;
    let swing = 0.2 * p.stride * p.phase.sin();
    let lift = 0.05 * p.stride * front;
    let run = (p.stride - 1.0).clamp(0.0, 1.0);
    let lean = p.lean + 0.06 * run;

    // Legs: the far one first, a shade darker.
    let hip = 0.5;
    let leg_r = 0.052 * b;
    let spread = 0.05 * front * b;
    let legs = [
        (
            -spread,
            -side * swing,
            lift * (p.phase + PI).sin().max(0.0),
            0.85,
        ),
        (spread, side * swing, lift * p.phase.sin().max(0.0), 1.0),
    ];
    for (off, fwd, up, k) in legs {
        let knee = (off + fwd * 0.55 + side * 0.03 * p.stride, 0.26 + up);
        let (a, kx, f) = (to(off, hip), to(knee.0, knee.1), to(off + fwd, up));
        let pants = shade(look.bottom, k);
        c.capsule(a, kx, leg_r * hp, Paint::Solid(pants));
        c.capsule(kx, f, leg_r * 0.9 * hp, Paint::Solid(pants));
        let shoe = shade([30, 28, 26], k);
        c.capsule(
            f,
            to(off + fwd + side * 0.04, up),
            0.035 * hp,
            Paint::Solid(shoe),
        );
    }

    // Torso (a coat reaches down over the thighs).
    let shoulder = (lean * 1.0, 0.78);
    let waist = (lean * 0.25, if look.coat { 0.36 } else { 0.5 });
    let torso_r = (0.085 + 0.03 * front) * b;
    let top = col(look.top);
    c.capsule(
        to(waist.0, waist.1 + torso_r * 0.6),
        to(shoulder.0, shoulder.1 - 0.03),
        torso_r * hp,
        Paint::Solid(top),
    );
    if let Some(bag) = look.bag {
        // Carried on the back: visible behind the torso when seen from the side or behind.
        let back = -side * 0.09 * b;
        if front < 0.7 || depth > 0.3 {
            c.capsule(
                to(back + lean * 0.6, 0.6),
                to(back + lean * 0.8, 0.72),
                0.06 * hp,
                Paint::Solid(col(bag)),
            );
        }
    }

    // Arms swing against the legs, or flail.
    let arm_len = 0.31;
    let arm_r = 0.034 * b;
    let sleeve = shade(look.top, 0.9);
    for (i, sign) in [(0usize, -1.0f32), (1, 1.0)] {
        let sx = shoulder.0 + sign * 0.09 * front * b;
        let angle = match p.arms {
            Some(a) => a[i],
            None => -sign * side * swing * 1.6 * (1.0 + 0.6 * run),
        };
        let (dx, dy) = (angle.sin() * arm_len, -angle.cos() * arm_len);
        let elbow = (
            sx + dx * 0.5 + run * 0.05 * side,
            shoulder.1 - 0.02 + dy * 0.5,
        );
        let hand = (
            sx + dx + run * side * 0.08,
            shoulder.1 - 0.02 + dy + run * 0.1,
        );
        c.capsule(
            to(sx, shoulder.1 - 0.02),
            to(elbow.0, elbow.1),
            arm_r * hp,
            Paint::Solid(sleeve),
        );
        c.capsule(
            to(elbow.0, elbow.1),
            to(hand.0, hand.1),
            arm_r * 0.9 * hp,
            Paint::Solid(sleeve),
        );
        let (hx, hy) = to(hand.0, hand.1);
        c.disc(hx, hy, 0.028 * hp, Paint::Solid(col(look.skin)));
    }

    // Head: hair behind, face towards the direction of gaze.
    let head = (lean * 1.15, 0.875);
    let hr = 0.062;
    let (hx, hy) = to(head.0, head.1);
    c.disc(hx, hy, hr * hp, Paint::Solid(col(look.hair)));
    if depth < 0.5 {
        let (ox, oy) = to(head.0 + side * 0.018, head.1 - 0.012);
        c.disc(ox, oy, hr * 0.85 * hp, Paint::Solid(col(look.skin)));
        let (tx, ty) = to(head.0 - side * 0.01, head.1 + 0.035);
        c.disc(tx, ty, hr * 0.7 * hp, Paint::Solid(col(look.hair)));
    }
}

/// A point on a route; `pause` seconds standing there; `cross` when the leg from here to the
/// next point crosses a road, so the walker waits for a gap in traffic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Waypoint {
    pub x: f32,
    pub z: f32,
    pub pause: f32,
    pub cross: bool,
}

impl Waypoint {
    /// A plain point to walk through.
    pub fn at(x: f32, z: f32) -> Self {
        Self {
            x,
            z,
            pause: 0.0,
            cross: false,
        }
    }
}

/// What a person is doing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mode {
    Walk,
    /// Standing until the given time; facing `face` if set.
    Idle {
        until: f32,
    },
    /// At the kerb since the given time.
    Wait {
        since: f32,
    },
    /// Moved by an incident.
    Scripted,
    Gone,
}

/// One person in the scene.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub look: Look,
    pub x: f32,
    pub z: f32,
    pub heading: f32,
    pub v: f32,
    pub cruise: f32,
    pub phase: f32,
    pub route: Vec<Waypoint>,
    pub next: usize,
    pub mode: Mode,
    /// Direction to face while standing (towards a companion), if any.
    pub face: Option<f32>,
    /// Pose parts an incident sets.
    pub tilt: f32,
    pub lean: f32,
    pub arms: Option<[f32; 2]>,
    /// Extra stride (running) while scripted.
    pub stride_boost: f32,
    /// Slow idle sway.
    sway: f32,
}

impl Person {
    /// A person at the first point of `route`, walking at `cruise` m/s.
    pub fn new(look: Look, route: Vec<Waypoint>, cruise: f32, rng: &mut ChaCha8Rng) -> Self {
        let (x, z) = route.first().map_or((0.0, 10.0), |w| (w.x, w.z));
        let heading = match route.get(1) {
            Some(n) => (n.z - z).atan2(n.x - x),
            None => rng.random_range(0.0..TAU),
        };
        Self {
            look,
            x,
            z,
            heading,
            v: cruise,
            cruise,
            phase: rng.random_range(0.0..TAU),
            route,
            next: 1,
            mode: Mode::Walk,
            face: None,
            tilt: 0.0,
            lean: 0.0,
            arms: None,
            stride_boost: 0.0,
            sway: rng.random_range(0.0..TAU),
        }
    }

    /// Metres covered by one full gait cycle (two steps) at speed `v`.
    fn cycle_len(&self, v: f32) -> f32 {
        0.75 * self.look.height * (1.0 + 0.35 * (v - 1.4).max(0.0))
    }

    /// Advances the gait by `dist` metres of travel.
    pub fn advance_gait(&mut self, dist: f32) {
        self.phase = (self.phase + TAU * dist / self.cycle_len(self.v).max(0.3)) % TAU;
    }

    /// Whether crossing from here to the next waypoint would meet a vehicle.
    fn crossing_clear(&self, cars: &[Obstacle]) -> bool {
        let Some(to) = self.route.get(self.next) else {
            return true;
        };
        let (dx, dz) = (to.x - self.x, to.z - self.z);
        let len = (dx * dx + dz * dz).sqrt().max(0.1);
        let t_cross = (len / self.cruise.max(0.5)).min(7.0);
        for car in cars {
            let mut t = 0.0;
            while t <= t_cross + 1.0 {
                let k = (t / t_cross).min(1.0);
                let (px, pz) = (self.x + dx * k, self.z + dz * k);
                let (cx, cz) = (car.x + car.vx * t, car.z + car.vz * t);
                let d = ((px - cx).powi(2) + (pz - cz).powi(2)).sqrt();
                if d < car.half_len + 2.0 {
                    return false;
                }
                t += 0.25;
            }
        }
        true
    }

    /// One step of ordinary behaviour at time `t` (seconds).
    pub fn step(&mut self, t: f32, dt: f32, cars: &[Obstacle]) {
        match self.mode {
            Mode::Gone | Mode::Scripted => {}
            Mode::Idle { until } => {
                self.v = 0.0;
                self.sway += dt * 0.8;
                if let Some(f) = self.face {
                    self.heading = f;
                }
                if t >= until {
                    self.mode = Mode::Walk;
                    self.face = None;
                }
            }
            Mode::Wait { since } => {
                self.v = 0.0;
                if self.crossing_clear(cars) || t - since > 20.0 {
                    self.mode = Mode::Walk;
                    // Look across the road first.
                    if let Some(n) = self.route.get(self.next) {
                        self.heading = (n.z - self.z).atan2(n.x - self.x);
                    }
                }
            }
            Mode::Walk => self.walk(t, dt, cars),
        }
    }

    fn walk(&mut self, t: f32, dt: f32, cars: &[Obstacle]) {
        let Some(wp) = self.route.get(self.next).copied() else {
            self.mode = Mode::Gone;
            return;
        };
        self.v += (self.cruise - self.v).clamp(-3.0 * dt, 1.5 * dt);
        let (dx, dz) = (wp.x - self.x, wp.z - self.z);
        let dist = (dx * dx + dz * dz).sqrt();
        let step = self.v * dt;
        if dist <= step.max(0.02) {
            self.x = wp.x;
            self.z = wp.z;
            self.advance_gait(dist);
            self.next += 1;
            if self.next >= self.route.len() {
                self.mode = Mode::Gone;
            } else if wp.pause > 0.0 {
                self.mode = Mode::Idle {
                    until: t + wp.pause,
                };
            } else if wp.cross && !self.crossing_clear(cars) {
                self.mode = Mode::Wait { since: t };
            }
            return;
        }
        let want = dz.atan2(dx);
        // Turn smoothly rather than snapping at waypoints.
        let mut d = want - self.heading;
        while d > PI {
            d -= TAU;
        }
        while d < -PI {
            d += TAU;
        }
        self.heading += d.clamp(-6.0 * dt, 6.0 * dt);
        self.x += dx / dist * step;
        self.z += dz / dist * step;
        self.advance_gait(step);
    }

    /// Pose for drawing.
    pub fn pose(&self) -> Pose {
        let walking = matches!(self.mode, Mode::Walk) || self.v > 0.2;
        let stride = if walking {
            (self.v / 1.3).clamp(0.0, 1.0) + ((self.v - 2.2) / 3.0).clamp(0.0, 0.8)
        } else {
            0.0
        } + self.stride_boost;
        let sway = if walking {
            0.0
        } else {
            0.012 * self.sway.sin()
        };
        Pose {
            x: self.x + sway,
            z: self.z,
            heading: self.heading,
            phase: self.phase,
            stride,
            tilt: self.tilt,
            lean: self.lean,
            arms: self.arms,
        }
    }

    /// Sends this person running away from `(px, pz)` until out of view, turning aside along
    /// the facade at depth `z_max` rather than running into a building.
    pub fn flee(&mut self, px: f32, pz: f32, speed: f32, cam: &Camera, z_max: f32) {
        let (mut dx, mut dz) = (self.x - px, self.z - pz);
        let l = (dx * dx + dz * dz).sqrt();
        if l < 0.1 {
            (dx, dz) = (1.0, 0.0);
        } else {
            (dx, dz) = (dx / l, dz / l);
        }
        let mut route = vec![Waypoint::at(self.x, self.z)];
        let (mut x, mut z) = (self.x, self.z);
        if dz > 0.0 {
            // Run for the facade only until a few metres short of it, then along it.
            let room = (z_max - 1.0 - z).max(0.0);
            let d = (room / dz).min(30.0);
            x += dx * d;
            z += dz * d;
            route.push(Waypoint::at(x, z));
            dx = if dx.abs() < 0.05 { 1.0 } else { dx.signum() };
            dz = 0.0;
        }
        let end = exit_along(cam, x, z, dx, dz, self.look.height);
        route.push(Waypoint::at(end.0, end.1));
        self.route = route;
        self.next = 1;
        self.cruise = speed;
        self.mode = Mode::Walk;
    }
}

/// The first point along the ray from `(x, z)` in direction `(dx, dz)` where a figure of height
/// `tall` is out of view, plus a margin; the depth never goes below 1 m in front of the camera.
pub(crate) fn exit_along(cam: &Camera, x: f32, z: f32, dx: f32, dz: f32, tall: f32) -> (f32, f32) {
    let mut d = 0.0;
    while d < 80.0 {
        let (px, pz) = (x + dx * d, (z + dz * d).max(1.0));
        if !cam.sees(px, pz, tall, 0.5) {
            return (x + dx * (d + 2.0), (z + dz * (d + 2.0)).max(1.0));
        }
        d += 0.5;
    }
    (x + dx * d, (z + dz * d).max(1.0))
}

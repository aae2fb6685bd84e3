//! The one incident of an anomalous video: when it happens (its annotated frames), who takes
//! part, how they move, and the effects drawn on the scene or over the lens.
//!
//! Participants are ordinary people and vehicles of the scene that an incident takes over
//! (`Mode::Scripted`, `Vehicle::scripted`), so they look exactly like the normal ones before it
//! starts. Each incident keeps its visible action inside the annotated span; what stays after
//! it is still (a person lying, a wreck, a scorch mark, a shifted view).

use super::Class;
use super::camera::Camera;
use super::crash::{
    Collision, Explosion, Particle, draw_fire, draw_particle, plan_collision, plan_explosion,
    step_collision, step_explosion, step_particles,
};
use super::crowd::{
    Fall, Fight, Scatter, plan_fall, plan_fight, plan_scatter, step_fall, step_fight,
};
use super::draw::{Canvas, Paint};
use super::person::{Look, Mode, Person, Waypoint};
use super::scene::Scene;
use super::tamper::{Tamper, plan_tamper, tamper};
use super::vehicle::Obstacle;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::TAU;

/// One planned incident.
#[derive(Clone, Debug)]
pub(crate) struct Incident {
    /// Annotated frames, inclusive.
    pub frames: (u64, u64),
    /// Annotated span in seconds from the first frame: `[t0, t1)`.
    t0: f32,
    t1: f32,
    kind: Kind,
    particles: Vec<Particle>,
}

#[derive(Clone, Debug)]
enum Kind {
    Fight(Fight),
    Fall(Fall),
    Scatter(Scatter),
    Collision(Collision),
    Explosion(Explosion),
    Tamper(Tamper),
}

/// Draws the annotated span: a random 2–5 s inside the middle 70% of the video (shortened when
/// the video is too short for it).
fn annotated(rng: &mut ChaCha8Rng, frames: u64, fps: u32) -> (u64, u64) {
    let lo = (0.15 * frames as f64).ceil() as u64;
    let hi = ((0.85 * frames as f64).floor() as u64).min(frames.saturating_sub(1));
    if hi < lo {
        let mid = frames / 2;
        return (mid, mid);
    }
    let want = (rng.random_range(2.0f64..5.0) * f64::from(fps))
        .round()
        .max(1.0) as u64;
    let len = want.min(hi - lo + 1).max(1);
    let start = rng.random_range(lo..=hi + 1 - len);
    (start, start + len - 1)
}

impl Incident {
    /// Plans an incident of `class` in `scene` (a video of `frames` frames): its span, its
    /// participants, and any traffic it needs kept clear.
    pub fn plan(class: Class, s: &mut Scene, frames: u64, fps: u32) -> Self {
        let span = annotated(&mut s.rng, frames, fps);
        Self::plan_span(class, s, span, fps)
    }

    /// Plans an incident of `class` filling a share of the `frames` drawn from `share` (e.g.
    /// 15–30 %), placed in the middle 70 % when it fits there.
    pub fn plan_share(
        class: Class,
        s: &mut Scene,
        frames: u64,
        fps: u32,
        (lo, hi): (f64, f64),
    ) -> Self {
        let want = (s.rng.random_range(lo..=hi) * frames as f64)
            .round()
            .max(1.0) as u64;
        let len = want.min(frames.max(1));
        let first = (0.15 * frames as f64).ceil() as u64;
        let last = ((0.85 * frames as f64).floor() as u64).min(frames.saturating_sub(1));
        let (a, b) = if last + 1 >= first + len {
            (first, last + 1 - len)
        } else {
            (0, frames - len)
        };
        let start = s.rng.random_range(a..=b);
        Self::plan_span(class, s, (start, start + len - 1), fps)
    }

    /// Plans an incident of `class` over the annotated frames `(f0, f1)` (inclusive).
    pub fn plan_span(class: Class, s: &mut Scene, (f0, f1): (u64, u64), fps: u32) -> Self {
        let t0 = f0 as f32 / fps as f32;
        let t1 = (f1 + 1) as f32 / fps as f32;
        let kind = match class {
            Class::Fighting => Kind::Fight(plan_fight(s, t0, t1)),
            Class::Fall => Kind::Fall(plan_fall(s, t0)),
            Class::Scatter => Kind::Scatter(plan_scatter(s)),
            Class::Collision => Kind::Collision(plan_collision(s, t0, t1)),
            Class::Explosion => Kind::Explosion(plan_explosion(s, t0, t1)),
            // A normal video never gets here; treat it as the mildest incident.
            Class::Tampering | Class::Normal => Kind::Tamper(plan_tamper(s, t0, t1)),
        };
        Self {
            frames: (f0, f1),
            t0,
            t1,
            kind,
            particles: Vec::new(),
        }
    }

    /// Whether new traffic may enter at `entrance` at time `t`.
    pub fn blocks_entrance(&self, entrance: usize, t: f32) -> bool {
        match &self.kind {
            Kind::Collision(c) => c
                .quiet
                .iter()
                .any(|&(e, a, b)| e == entrance && t >= a && t <= b),
            _ => false,
        }
    }

    /// Something vehicles must stop for (a fire on the road).
    pub fn obstacle(&self, t: f32) -> Option<Obstacle> {
        match &self.kind {
            Kind::Explosion(e) if t >= self.t0 && t < self.t1 + 2.0 => Some(Obstacle {
                x: e.x,
                z: e.z,
                heading: 0.0,
                half_len: e.radius * 1.5,
                half_wid: e.radius * 1.5,
                vx: 0.0,
                vz: 0.0,
            }),
            _ => None,
        }
    }

    /// Advances the incident to time `t` (called before the rest of the scene moves).
    pub fn step(&mut self, s: &mut Scene, t: f32, dt: f32) {
        let (t0, t1) = (self.t0, self.t1);
        match &mut self.kind {
            Kind::Fight(f) => step_fight(f, s, t, dt, t0),
            Kind::Fall(f) => step_fall(f, s, t, t0),
            Kind::Scatter(sc) => {
                for &(i, delay, speed) in &sc.members {
                    if t >= t0 + delay
                        && let Some(p) = s.people.get_mut(i)
                        && matches!(p.mode, Mode::Idle { .. })
                    {
                        p.face = None;
                        p.flee(sc.centre.0, sc.centre.1, speed, &s.cam, s.layout.z_far);
                        // A start of sheer panic: straight to top speed.
                        p.v = speed * 0.8;
                    }
                }
            }
            Kind::Collision(c) => step_collision(c, s, t, &mut self.particles),
            Kind::Explosion(e) => step_explosion(e, s, t, t0, t1, &mut self.particles),
            Kind::Tamper(_) => {}
        }
        step_particles(&mut self.particles, t, dt);
    }

    /// Debris lying or skidding on the ground and scorch marks, under everything else.
    pub fn draw_ground(&self, c: &mut Canvas, cam: &Camera, t: f32) {
        if let Kind::Explosion(e) = &self.kind
            && t >= self.t0 + 0.15
        {
            let (x, y) = cam.project(e.x, 0.0, e.z);
            let ppm = cam.ppm(e.z);
            c.ellipse(
                x,
                y,
                e.radius * 1.3 * ppm,
                e.radius * 0.5 * ppm,
                Paint::Shade(0.45),
            );
            c.ellipse(
                x,
                y,
                e.radius * 0.7 * ppm,
                e.radius * 0.28 * ppm,
                Paint::Shade(0.6),
            );
        }
        for p in self.particles.iter().filter(|p| !p.smoke && p.up <= 0.05) {
            draw_particle(c, cam, p, t);
        }
    }

    /// Fire, smoke and flying debris, over the people and vehicles.
    pub fn draw_air(&self, c: &mut Canvas, cam: &Camera, t: f32, rng: &mut ChaCha8Rng) {
        for p in self.particles.iter().filter(|p| !p.smoke && p.up > 0.05) {
            draw_particle(c, cam, p, t);
        }
        for p in self.particles.iter().filter(|p| p.smoke) {
            draw_particle(c, cam, p, t);
        }
        if let Kind::Explosion(e) = &self.kind {
            draw_fire(c, cam, e, t - self.t0, rng);
        }
    }

    /// Effects on the whole image: the explosion's flash and camera tampering.
    pub fn lens(
        &self,
        c: &mut Canvas,
        scratch: &mut Canvas,
        buf: &mut Vec<u8>,
        t: f32,
        rng: &mut ChaCha8Rng,
    ) {
        let u = t - self.t0;
        match &self.kind {
            Kind::Explosion(_) if (0.0..1.0).contains(&u) => {
                let k = 255.0 * (-u / 0.13).exp();
                c.add_all([k, k * 0.95, k * 0.8]);
            }
            Kind::Tamper(tm) => tamper(c, scratch, buf, *tm, t, self.t0, self.t1, rng),
            _ => {}
        }
    }
}

/// A group of people standing together in a normal video (waiting, chatting), who later go
/// their ways: keeps "a group" from meaning "about to scatter".
pub(crate) fn normal_group(s: &mut Scene, until: f32) {
    let Some((cx, cz)) = s.layout.spot(&mut s.rng, &s.cam, 0.15) else {
        return;
    };
    let n = s.rng.random_range(3..=9usize);
    let r = 0.5 + 0.15 * n as f32;
    let left = s.rng.random_bool(0.5);
    for i in 0..n {
        let a = i as f32 / n as f32 * TAU + s.rng.random_range(-0.3f32..0.3);
        let (x, z) = (cx + r * a.cos(), cz + r * 0.6 * a.sin());
        if !s.layout.walkable(x, z) {
            continue;
        }
        let (x0, x1) = s.cam.visible_x(z);
        let go_left = if s.rng.random_bool(0.7) { left } else { !left };
        let exit = if go_left { x0 - 1.5 } else { x1 + 1.5 };
        let route = vec![
            Waypoint {
                pause: 1.0,
                ..Waypoint::at(x, z)
            },
            Waypoint::at(exit, z),
        ];
        let look = Look::random(&mut s.rng);
        let speed = s.rng.random_range(1.1f32..1.5);
        let mut p = Person::new(look, route, speed, &mut s.rng);
        p.mode = Mode::Idle {
            until: until + s.rng.random_range(0.0f32..3.0),
        };
        let face = (cz - z).atan2(cx - x);
        p.face = Some(face);
        p.heading = face;
        s.people.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn spans_stay_inside_the_middle() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for frames in [1u64, 5, 30, 61, 90, 240, 480] {
            for _ in 0..50 {
                let (a, b) = annotated(&mut rng, frames, 30);
                assert!(a <= b && b < frames.max(1));
                if frames >= 10 {
                    assert!(a as f64 >= 0.15 * frames as f64, "{a} of {frames}");
                    assert!(b as f64 <= 0.85 * frames as f64, "{b} of {frames}");
                }
            }
        }
    }
}

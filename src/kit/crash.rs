//! Incidents with vehicles and fire: a collision (two vehicles on converging paths, an abrupt
//! stop with a jolt, one spinning, debris and steam) and an explosion (a flash, a flickering
//! fireball, smoke that grows and drifts and is gone by the end of the span, a scorch mark),
//! with the particles both use.

use super::camera::Camera;
use super::draw::{Canvas, Paint, Rgb};
use super::layout::Kind as LayoutKind;
use super::person::Mode;
use super::place::{centre_spot, unit};
use super::scene::Scene;
use super::vehicle::{Group, Motion, Path, Vehicle, VehicleLook};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::{PI, TAU};

/// Half extent of a vehicle footprint along direction `(dx, dz)`.
pub(super) fn extent(look: &VehicleLook, heading: f32, d: (f32, f32)) -> f32 {
    let (c, s) = (heading.cos(), heading.sin());
    let along = (d.0 * c + d.1 * s).abs();
    let across = (d.0 * -s + d.1 * c).abs();
    along * look.len / 2.0 + across * look.wid / 2.0
}

/// Two vehicles driven into each other.
#[derive(Clone, Debug)]
pub(super) struct Collision {
    /// The two vehicles before they enter: entry time, look, path, speed.
    cars: [Option<(f32, VehicleLook, usize, f32)>; 2],
    idx: [Option<usize>; 2],
    t_hit: f32,
    spin_a: bool,
    hit: bool,
    /// Lane entrances kept free of other traffic before the crash.
    pub(super) quiet: Vec<(usize, f32, f32)>,
}

/// A blast on the ground at `(x, z)` with a fireball of `radius` metres.
#[derive(Clone, Debug)]
pub(super) struct Explosion {
    pub(super) x: f32,
    pub(super) z: f32,
    pub(super) radius: f32,
    pub(super) fire_for: f32,
    fled: bool,
    next_smoke: f32,
    wind: f32,
}

/// A piece of debris or a puff of smoke or steam, in metres and seconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Particle {
    x: f32,
    pub(super) up: f32,
    z: f32,
    vx: f32,
    vup: f32,
    vz: f32,
    /// Metres.
    size: f32,
    grow: f32,
    colour: Rgb,
    born: f32,
    dies: f32,
    pub(super) smoke: bool,
}

/// Plans a collision: A drives its lane and B swerves into it (opposite lane, next lane, or
/// the same lane the wrong way), or at a junction B runs the side road's red light; both are
/// timed to meet just after the span starts, and the lanes are kept clear beforehand.
pub(super) fn plan_collision(s: &mut Scene, t0: f32, t1: f32) -> Collision {
    let t_hit = t0 + s.rng.random_range(0.4f32..0.9).min((t1 - t0) * 0.4);
    let lanes = s.layout.lanes.clone();
    let lane_i = s.rng.random_range(0..lanes.len().max(1));
    let (za, dir_a) = lanes
        .get(lane_i)
        .copied()
        .unwrap_or((s.layout.z_near + 5.0, 1.0));
    let (vx0, vx1) = s.cam.visible_x(za);
    let look_a = VehicleLook::random(&mut s.rng, false);
    let look_b = VehicleLook::random(&mut s.rng, false);
    let heading_a = if dir_a > 0.0 { 0.0 } else { PI };
    let v_a = s.rng.random_range(8.0f32..13.0);
    let mut v_b = s.rng.random_range(8.0f32..14.0);
    // Where A's centre is at the moment of impact.
    let a_hit = match s.layout.side {
        Some((s0, s1)) => ((s0 + s1) / 2.0 + 1.6, za),
        None => (vx0 + (vx1 - vx0) * s.rng.random_range(0.3f32..0.7), za),
    };
    // B swerves into A: over from the opposite lane (head-on), or from the next lane of a one-way
    // road (side-swipe); at a junction it comes straight up the side road through a red light.
    let other = lanes.iter().copied().filter(|l| l.0 != za).min_by(|a, b| {
        ((a.1 != dir_a) as u8)
            .cmp(&((b.1 != dir_a) as u8))
            .reverse()
            .then((a.0 - za).abs().total_cmp(&(b.0 - za).abs()))
    });
    // A road of one lane: a wrong-way driver comes head-on down it.
    let swerve = match s.layout.side {
        Some(_) => None,
        None => other.or(Some((za, -dir_a))),
    };
    let (b_path, b_to_hit) = if let Some((zb, dir_b)) = swerve {
        let x_sw = a_hit.0 - dir_b * s.rng.random_range(9.0f32..15.0);
        let d = unit(a_hit.0 - x_sw, a_hit.1 - zb);
        let sep = extent(&look_a, heading_a, d) + look_b.len / 2.0 - 0.25;
        let b_hit = (a_hit.0 - d.0 * sep, a_hit.1 - d.1 * sep);
        let (bx0, bx1) = s.cam.visible_x(zb);
        let start = (if dir_b > 0.0 { bx0 - 8.0 } else { bx1 + 8.0 }, zb);
        let run_in =
            (x_sw - start.0).abs() + ((b_hit.0 - x_sw).powi(2) + (b_hit.1 - zb).powi(2)).sqrt();
        (
            vec![
                start,
                (x_sw, zb),
                b_hit,
                (b_hit.0 + d.0 * 30.0, b_hit.1 + d.1 * 30.0),
            ],
            run_in,
        )
    } else {
        let angle = if s.layout.side.is_some() {
            0.0
        } else {
            s.rng.random_range(-0.5f32..0.5)
        };
        let d = (angle.sin(), angle.cos());
        let sep = extent(&look_a, heading_a, d) + look_b.len / 2.0 - 0.25;
        let b_hit = (a_hit.0 - d.0 * sep, a_hit.1 - d.1 * sep);
        let z_start = s.layout.z_near - 7.0;
        let k = ((b_hit.1 - z_start) / d.1).max(1.0);
        let start = (b_hit.0 - d.0 * k, b_hit.1 - d.1 * k);
        (
            vec![start, b_hit, (b_hit.0 + d.0 * 30.0, b_hit.1 + d.1 * 30.0)],
            k,
        )
    };
    if swerve.is_some_and(|l| l.1 == dir_a) {
        v_b = v_b.max(v_a * 1.35);
    }
    let a_start = (if dir_a > 0.0 { vx0 - 8.0 } else { vx1 + 8.0 }, za);
    let a_to_hit = (a_hit.0 - a_start.0).abs();
    s.paths
        .push(Path::new(vec![a_start, (a_hit.0 + dir_a * 40.0, za)]));
    let pa = s.paths.len() - 1;
    s.paths.push(Path::new(b_path));
    let pb = s.paths.len() - 1;
    let a_spawn = t_hit - a_to_hit / v_a;
    let b_spawn = t_hit - b_to_hit / v_b;
    // Keep the lanes clear so nobody is in the way; at a junction give the main road green
    // and keep the side road empty (its car runs the red).
    let mut quiet = Vec::new();
    for (e, entrance) in s.layout.entrances.iter().enumerate() {
        let side_road = entrance.paths.iter().any(|&(p, _)| {
            s.layout
                .stops
                .get(p)
                .copied()
                .flatten()
                .is_some_and(|st| st.1 == Group::Side)
        });
        let from = if side_road {
            t_hit - 45.0
        } else {
            a_spawn.min(b_spawn) - 12.0
        };
        quiet.push((e, from, t_hit + 0.5));
    }
    if let Some(sig) = s.layout.signals.as_mut() {
        sig.green_main_at(t_hit, 5.0);
    }
    Collision {
        cars: [
            Some((a_spawn, look_a, pa, v_a)),
            Some((b_spawn, look_b, pb, v_b)),
        ],
        idx: [None, None],
        t_hit,
        spin_a: s.rng.random_bool(0.5),
        hit: false,
        quiet,
    }
}

/// Brings A and B in when their time comes; at the moment of impact turns both into sliding
/// wrecks and throws debris and steam.
pub(super) fn step_collision(
    c: &mut Collision,
    s: &mut Scene,
    t: f32,
    particles: &mut Vec<Particle>,
) {
    let lights = s.light.lamps_on;
    for (car, idx) in c.cars.iter_mut().zip(c.idx.iter_mut()) {
        if car.is_some_and(|k| t >= k.0)
            && let Some((spawn, look, path, v)) = car.take()
        {
            let mut veh = Vehicle::on_path(look, path, &s.paths, v);
            veh.scripted = true;
            veh.lights = lights;
            // Enter already as far along as the time says.
            veh.motion = Motion::Path {
                path,
                s: (t - spawn) * v,
            };
            s.cars.push(veh);
            *idx = Some(s.cars.len() - 1);
        }
    }
    if c.hit || t < c.t_hit {
        return;
    }
    c.hit = true;
    let [Some(ia), Some(ib)] = c.idx else {
        return;
    };
    let (Some(a), Some(b)) = (s.cars.get(ia).cloned(), s.cars.get(ib).cloned()) else {
        return;
    };
    let (ma, mb) = (a.look.len * a.look.wid, b.look.len * b.look.wid);
    let va = (a.v * a.heading.cos(), a.v * a.heading.sin());
    let vb = (b.v * b.heading.cos(), b.v * b.heading.sin());
    let vc = (
        (ma * va.0 + mb * vb.0) / (ma + mb),
        (ma * va.1 + mb * vb.1) / (ma + mb),
    );
    let rng = &mut s.rng;
    let spin_big = rng.random_range(1.8f32..3.8) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let spin_small = rng.random_range(-0.6f32..0.6);
    for (i, k, spin) in [
        (
            ia,
            rng.random_range(0.7f32..1.1),
            if c.spin_a { spin_big } else { spin_small },
        ),
        (
            ib,
            rng.random_range(0.5f32..0.9),
            if c.spin_a { spin_small } else { spin_big },
        ),
    ] {
        if let Some(v) = s.cars.get_mut(i) {
            v.motion = Motion::Free {
                vx: vc.0 * k + rng.random_range(-0.8f32..0.8),
                vz: vc.1 * k + rng.random_range(-0.8f32..0.8),
                spin,
            };
            v.shake = 0.3;
        }
    }
    // Glass, plastic and metal flying from the point of contact.
    let (px, pz) = ((a.x + b.x) / 2.0, (a.z + b.z) / 2.0);
    for _ in 0..rng.random_range(25..50) {
        let ang = rng.random_range(0.0f32..TAU);
        let sp = rng.random_range(1.5f32..8.0);
        let colour = match rng.random_range(0..4u32) {
            0 => [210, 225, 235],
            1 => a.look.body,
            2 => b.look.body,
            _ => [25, 25, 25],
        };
        particles.push(Particle {
            x: px + rng.random_range(-0.4f32..0.4),
            up: rng.random_range(0.4f32..1.0),
            z: pz + rng.random_range(-0.4f32..0.4),
            vx: ang.cos() * sp + vc.0 * 0.5,
            vup: rng.random_range(0.5f32..4.0),
            vz: ang.sin() * sp * 0.7 + vc.1 * 0.5,
            size: rng.random_range(0.06f32..0.2),
            grow: 0.0,
            colour,
            born: t,
            dies: f32::INFINITY,
            smoke: false,
        });
    }
    // A burst of steam from a broken radiator, gone in a couple of seconds.
    for _ in 0..rng.random_range(8..16) {
        particles.push(Particle {
            x: px + rng.random_range(-0.6f32..0.6),
            up: rng.random_range(0.8f32..1.4),
            z: pz + rng.random_range(-0.5f32..0.5),
            vx: rng.random_range(-0.5f32..0.5),
            vup: rng.random_range(0.6f32..1.5),
            vz: rng.random_range(-0.3f32..0.3),
            size: rng.random_range(0.3f32..0.6),
            grow: rng.random_range(0.6f32..1.2),
            colour: [200, 200, 196],
            born: t + rng.random_range(0.0f32..0.5),
            dies: t + rng.random_range(1.2f32..2.2),
            smoke: true,
        });
    }
}

/// Plans an explosion on the road or on a walkable spot in the nearer part of the view.
pub(super) fn plan_explosion(s: &mut Scene, t0: f32, t1: f32) -> Explosion {
    let spot = match s.layout.kind {
        LayoutKind::Parking | LayoutKind::Street if s.rng.random_bool(0.5) => {
            // On the road.
            let (r0, r1) = s.layout.road;
            let z = s.rng.random_range(r0 + 0.5..r1 - 0.5);
            let sx = s.rng.random_range(0.25f32..0.75) * s.cam.w;
            Some((s.cam.x_at(sx, z), z))
        }
        _ => s.layout.near_spot(&mut s.rng, &s.cam, 0.2),
    };
    let (x, z) = spot.unwrap_or_else(|| centre_spot(s));
    let len = t1 - t0;
    // Big enough to see, never more than a fifth of the image across.
    let cap = 0.1 * s.cam.h / s.cam.ppm(z);
    Explosion {
        x,
        z,
        radius: s.rng.random_range(1.4f32..3.5).min(cap).max(0.8),
        fire_for: (len * s.rng.random_range(0.45f32..0.65)).clamp(0.5, 2.6),
        fled: false,
        next_smoke: t0 + 0.1,
        wind: s.rng.random_range(-1.5f32..1.5),
    }
}

/// At the start: people nearby flee, debris flies; then smoke rises until shortly before `t1`.
pub(super) fn step_explosion(
    e: &mut Explosion,
    s: &mut Scene,
    t: f32,
    t0: f32,
    t1: f32,
    particles: &mut Vec<Particle>,
) {
    if t < t0 {
        return;
    }
    let rng = &mut s.rng;
    if !e.fled {
        e.fled = true;
        // People nearby run for it; debris flies.
        for p in s.people.iter_mut() {
            let d = ((p.x - e.x).powi(2) + (p.z - e.z).powi(2)).sqrt();
            if d < 20.0 && matches!(p.mode, Mode::Walk | Mode::Idle { .. } | Mode::Wait { .. }) {
                let speed = rng.random_range(3.5f32..6.0);
                p.face = None;
                p.flee(e.x, e.z, speed, &s.cam, s.layout.z_far);
            }
        }
        for _ in 0..rng.random_range(15..30) {
            let ang = rng.random_range(0.0f32..TAU);
            let sp = rng.random_range(3.0f32..12.0);
            particles.push(Particle {
                x: e.x,
                up: rng.random_range(0.3f32..1.5),
                z: e.z,
                vx: ang.cos() * sp,
                vup: rng.random_range(2.0f32..8.0),
                vz: ang.sin() * sp * 0.6,
                size: rng.random_range(0.08f32..0.3),
                grow: 0.0,
                colour: [[30, 28, 25], [70, 60, 50], [50, 45, 45]][rng.random_range(0..3)],
                born: t,
                dies: f32::INFINITY,
                smoke: false,
            });
        }
    }
    // Smoke rises while the fire burns and a little after; every puff is gone by `t1`.
    let smoke_until = (t0 + e.fire_for + 0.6).min(t1 - 0.5);
    while e.next_smoke <= t && e.next_smoke < smoke_until {
        let born = e.next_smoke;
        e.next_smoke += 0.04;
        let grey = rng.random_range(45u8..110);
        particles.push(Particle {
            x: e.x + rng.random_range(-0.5f32..0.5) * e.radius,
            up: e.radius * rng.random_range(1.2f32..2.0),
            z: e.z + rng.random_range(-0.3f32..0.3),
            vx: e.wind + rng.random_range(-0.6f32..0.6),
            vup: rng.random_range(1.5f32..3.5),
            vz: rng.random_range(-0.2f32..0.2),
            size: e.radius * rng.random_range(0.4f32..0.7),
            grow: e.radius * rng.random_range(0.5f32..1.1),
            colour: [grey, grey, grey.saturating_add(4)],
            born,
            dies: t1 - rng.random_range(0.0f32..0.3),
            smoke: true,
        });
    }
}

/// Moves debris (ballistic, then skidding to a stop) and smoke (rising, drifting); drops the dead.
pub(super) fn step_particles(ps: &mut Vec<Particle>, t: f32, dt: f32) {
    ps.retain(|p| t < p.dies);
    for p in ps.iter_mut() {
        if t < p.born {
            continue;
        }
        if p.smoke {
            p.x += p.vx * dt;
            p.up += p.vup * dt;
            p.z += p.vz * dt;
            p.vup *= 1.0 - 0.4 * dt;
            continue;
        }
        if p.up > 0.0 || p.vup > 0.0 {
            p.vup -= 9.8 * dt;
            p.x += p.vx * dt;
            p.z += p.vz * dt;
            p.up += p.vup * dt;
            if p.up <= 0.0 {
                p.up = 0.0;
                p.vup = 0.0;
            }
        } else {
            // Skids to a stop.
            let k = (1.0 - 6.0 * dt).max(0.0);
            p.vx *= k;
            p.vz *= k;
            p.x += p.vx * dt;
            p.z += p.vz * dt;
        }
    }
}

/// Draws one particle: debris as a small solid box, smoke as a growing, fading disc.
pub(super) fn draw_particle(c: &mut Canvas, cam: &Camera, p: &Particle, t: f32) {
    if t < p.born || p.z < 0.5 {
        return;
    }
    let (x, y) = cam.project(p.x, p.up, p.z);
    let ppm = cam.ppm(p.z);
    if p.smoke {
        let age = t - p.born;
        let life = (p.dies - p.born).max(0.1);
        let u = (age / life).clamp(0.0, 1.0);
        let r = (p.size + p.grow * age) * ppm;
        let alpha = if p.colour[0] > 150 { 0.35 } else { 0.75 } * (1.0 - u) * (1.0 - u).sqrt();
        c.disc(x, y, r, Paint::Blend(p.colour, alpha));
    } else {
        let r = (p.size * ppm).max(0.8);
        c.rect(
            x - r,
            y - r * 0.7,
            x + r,
            y + r * 0.7,
            Paint::Solid(p.colour),
        );
    }
}

/// Draws the fireball `u` seconds after the blast: overlapping discs, white-hot to red, that
/// jump about each frame, and their glow on the surroundings.
pub(super) fn draw_fire(c: &mut Canvas, cam: &Camera, e: &Explosion, u: f32, rng: &mut ChaCha8Rng) {
    if u < 0.0 || u > e.fire_for {
        return;
    }
    let ppm = cam.ppm(e.z);
    let grow = 1.0 - (-u / 0.16).exp();
    let fade = 1.0 - ((u - e.fire_for * 0.5) / (e.fire_for * 0.5)).clamp(0.0, 1.0);
    let r = e.radius * (0.35 + 0.65 * grow) * (0.7 + 0.3 * fade);
    let lift = r * 0.8 + u * 0.8;
    let (gx, gy) = cam.project(e.x, lift, e.z);
    // Light thrown on the surroundings.
    c.glow(
        gx,
        gy,
        r * 4.0 * ppm,
        1.0,
        [150.0 * fade, 80.0 * fade, 20.0 * fade],
    );
    let blobs = 12;
    for i in 0..blobs {
        let k = i as f32 / blobs as f32;
        let a = rng.random_range(0.0f32..TAU);
        let d = r * (1.0 - k) * rng.random_range(0.2f32..0.7);
        let (x, y) = cam.project(e.x + a.cos() * d, lift + a.sin() * d * 0.8, e.z);
        let br = r * (1.0 - 0.6 * k) * rng.random_range(0.55f32..0.9) * ppm;
        let colour: Rgb = if k < 0.35 {
            [200, 60, 20]
        } else if k < 0.7 {
            [250, 140, 30]
        } else {
            [255, 220, 120]
        };
        c.disc(x, y, br, Paint::Blend(colour, 0.35 + 0.65 * fade));
    }
    if fade > 0.3 {
        let (x, y) = cam.project(e.x, lift, e.z);
        c.disc(x, y, r * 0.35 * ppm * fade, Paint::Solid([255, 250, 225]));
    }
}

//! Incidents among people: a fight (two or three converge, brawl, one is knocked down, the
//! others run), a fall (a walker, or someone standing, topples and lies still), and a crowd
//! that scatters (a standing group suddenly runs outward).

use super::layout::Surface;
use super::person::{Look, Mode, Person, Waypoint};
use super::place::{Entry, centre_spot, entry_time, unit};
use super::scene::Scene;
use rand::Rng;
use std::f32::consts::{FRAC_PI_2, PI, TAU};

/// One brawler: when they arrive, where they stand, how they are thrown about.
#[derive(Clone, Debug)]
pub(super) struct Fighter {
    entry: Entry,
    slot: (f32, f32),
    off: (f32, f32),
    vel: (f32, f32),
    arm_goal: [f32; 2],
    down: Option<f32>,
    fall_dir: f32,
    fled: bool,
}

/// A brawl between two or three people.
#[derive(Clone, Debug)]
pub(super) struct Fight {
    fighters: Vec<Fighter>,
    started: bool,
    knock_at: f32,
    victim: usize,
    next_shove: f32,
    leave_at: f32,
}

/// Someone who topples over and lies still.
#[derive(Clone, Debug)]
pub(super) struct Fall {
    entry: Entry,
    dir: f32,
    dur: f32,
    start: Option<(f32, f32, f32)>,
}

/// A standing group that bolts: each member's index, reaction delay and running speed.
#[derive(Clone, Debug)]
pub(super) struct Scatter {
    pub(super) members: Vec<(usize, f32, f32)>,
    pub(super) centre: (f32, f32),
}

/// Plans a fight near the camera: the brawlers walk in along the pavement and stand arguing
/// a moment before the span starts.
pub(super) fn plan_fight(s: &mut Scene, t0: f32, t1: f32) -> Fight {
    let (mx, mz) = s
        .layout
        .near_spot(&mut s.rng, &s.cam, 0.22)
        .unwrap_or_else(|| centre_spot(s));
    let n = if s.rng.random_bool(0.5) { 2 } else { 3 };
    let arrive = t0 - s.rng.random_range(0.6f32..2.5);
    let mut fighters = Vec::new();
    for i in 0..n {
        let angle = i as f32 / n as f32 * TAU + s.rng.random_range(-0.3f32..0.3);
        let slot = (mx + 0.42 * angle.cos(), mz + 0.3 * angle.sin());
        // Walk in along the pavement from one side or the other.
        let from_left = if n == 2 {
            i == 0
        } else {
            s.rng.random_bool(0.5)
        };
        let (x0, x1) = s.cam.visible_x(slot.1);
        let start = (if from_left { x0 - 1.5 } else { x1 + 1.5 }, slot.1);
        let speed = s.rng.random_range(1.3f32..1.8);
        let route = vec![
            Waypoint::at(start.0, start.1),
            Waypoint {
                pause: 10_000.0,
                ..Waypoint::at(slot.0, slot.1)
            },
        ];
        let at = entry_time(&route, 1, speed, arrive).max(-s.warmup + 0.1);
        let mut look = Look::random(&mut s.rng);
        look.height = look.height.max(1.6);
        let mut p = Person::new(look, route, speed, &mut s.rng);
        p.face = Some((mz - slot.1).atan2(mx - slot.0));
        fighters.push(Fighter {
            entry: Entry::new(at, p),
            slot,
            off: (0.0, 0.0),
            vel: (0.0, 0.0),
            arm_goal: [0.0, 0.0],
            down: None,
            fall_dir: 1.0,
            fled: false,
        });
    }
    let len = t1 - t0;
    Fight {
        victim: s.rng.random_range(0..n),
        knock_at: t0 + len * s.rng.random_range(0.45f32..0.7),
        next_shove: t0 + s.rng.random_range(0.2f32..0.6),
        leave_at: t1 - (len * 0.25).min(0.9),
        fighters,
        started: false,
    }
}

/// Moves the brawlers: jerky pushes on a spring, flailing arms, shoves; one is knocked down;
/// near the end the others run off.
pub(super) fn step_fight(f: &mut Fight, s: &mut Scene, t: f32, dt: f32, t0: f32) {
    for fi in &mut f.fighters {
        fi.entry.admit(t, &mut s.people);
    }
    if t < t0 {
        return;
    }
    if !f.started {
        f.started = true;
        for fi in &mut f.fighters {
            if let Some(p) = fi.entry.index.and_then(|i| s.people.get_mut(i)) {
                p.mode = Mode::Scripted;
                fi.slot = (p.x, p.z);
            }
        }
    }
    let rng = &mut s.rng;
    // Shoves: one pushes another hard.
    let standing: Vec<usize> = (0..f.fighters.len())
        .filter(|&i| f.fighters[i].down.is_none())
        .collect();
    if t >= f.next_shove && standing.len() >= 2 && t < f.leave_at {
        let a = standing[rng.random_range(0..standing.len())];
        let mut b = standing[rng.random_range(0..standing.len())];
        if a == b {
            b = standing[(standing.iter().position(|&x| x == a).unwrap_or(0) + 1) % standing.len()];
        }
        let pa = pos(&f.fighters[a]);
        let pb = pos(&f.fighters[b]);
        let d = unit(pb.0 - pa.0, pb.1 - pa.1);
        let push = rng.random_range(3.0f32..5.5);
        f.fighters[b].vel.0 += d.0 * push;
        f.fighters[b].vel.1 += d.1 * push * 0.6;
        f.fighters[a].arm_goal = [d.0.signum() * 1.5, d.0.signum() * 1.4];
        f.next_shove = t + rng.random_range(0.3f32..0.9);
    }
    // The knock-down.
    if t >= f.knock_at && f.fighters.get(f.victim).is_some_and(|v| v.down.is_none()) {
        let v = f.victim;
        let others: Vec<(f32, f32)> = (0..f.fighters.len())
            .filter(|&i| i != v)
            .map(|i| pos(&f.fighters[i]))
            .collect();
        let pv = pos(&f.fighters[v]);
        let from = others.first().copied().unwrap_or((pv.0 - 1.0, pv.1));
        let d = unit(pv.0 - from.0, pv.1 - from.1);
        let fv = &mut f.fighters[v];
        fv.vel = (d.0 * 3.5, d.1 * 2.0);
        fv.down = Some(t);
        fv.fall_dir = if d.0.abs() > 0.2 {
            d.0.signum()
        } else if rng.random_bool(0.5) {
            1.0
        } else {
            -1.0
        };
    }
    let centre = {
        let n = f.fighters.len().max(1) as f32;
        let sum = f
            .fighters
            .iter()
            .map(pos)
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        (sum.0 / n, sum.1 / n)
    };
    let victim_pos = f.fighters.get(f.victim).map_or(centre, pos);
    let any_down = f.fighters_down_any();
    for fi in f.fighters.iter_mut() {
        let Some(p) = fi.entry.index.and_then(|i| s.people.get_mut(i)) else {
            continue;
        };
        if fi.fled {
            continue;
        }
        if let Some(down_at) = fi.down {
            // Falling, then lying still.
            let u = ((t - down_at) / 0.35).clamp(0.0, 1.0);
            fi.vel.0 *= 0.8;
            fi.vel.1 *= 0.8;
            fi.off.0 += fi.vel.0 * dt;
            fi.off.1 += fi.vel.1 * dt;
            p.x = fi.slot.0 + fi.off.0;
            p.z = fi.slot.1 + fi.off.1;
            p.tilt = fi.fall_dir * (FRAC_PI_2 - 0.06) * u * u;
            p.arms = Some([fi.fall_dir * (1.0 + 1.6 * u), fi.fall_dir * (0.6 + 2.2 * u)]);
            p.lean = 0.0;
            p.stride_boost = 0.0;
            p.v = 0.0;
            continue;
        }
        if t >= f.leave_at {
            fi.fled = true;
            p.tilt = 0.0;
            p.arms = None;
            p.lean = 0.0;
            p.stride_boost = 0.0;
            let speed = rng.random_range(2.6f32..4.0);
            let from = (victim_pos.0 + rng.random_range(-0.3f32..0.3), victim_pos.1);
            p.flee(from.0, from.1, speed, &s.cam, s.layout.z_far);
            continue;
        }
        // Erratic: jerky random pushes on a spring towards the brawl.
        let anchor = if any_down {
            (victim_pos.0 - fi.slot.0, victim_pos.1 - fi.slot.1)
        } else {
            (centre.0 - fi.slot.0, centre.1 - fi.slot.1)
        };
        let ax = rng.random_range(-30.0f32..30.0) - 14.0 * (fi.off.0 - anchor.0 * 0.4);
        let az = rng.random_range(-18.0f32..18.0) - 14.0 * (fi.off.1 - anchor.1 * 0.4);
        fi.vel.0 = (fi.vel.0 + ax * dt) * 0.9;
        fi.vel.1 = (fi.vel.1 + az * dt) * 0.9;
        let sp = (fi.vel.0.powi(2) + fi.vel.1.powi(2)).sqrt();
        if sp > 4.0 {
            fi.vel = (fi.vel.0 / sp * 4.0, fi.vel.1 / sp * 4.0);
        }
        fi.off.0 += fi.vel.0 * dt;
        fi.off.1 += fi.vel.1 * dt;
        p.x = fi.slot.0 + fi.off.0;
        p.z = fi.slot.1 + fi.off.1;
        // Face the others, swinging arms wildly.
        let face = (centre.0 - p.x).signum();
        p.heading = if face >= 0.0 { 0.0 } else { PI } + rng.random_range(-0.4f32..0.4);
        if rng.random_bool(0.3) {
            fi.arm_goal = [
                rng.random_range(-2.8f32..2.8),
                rng.random_range(-2.8f32..2.8),
            ];
        }
        let arms = p.arms.unwrap_or([0.0, 0.0]);
        p.arms = Some([
            arms[0] + (fi.arm_goal[0] - arms[0]) * 0.6,
            arms[1] + (fi.arm_goal[1] - arms[1]) * 0.6,
        ]);
        p.lean = face * rng.random_range(-0.02f32..0.12);
        p.tilt = rng.random_range(-0.12f32..0.12);
        p.v = sp.max(1.0);
        p.stride_boost = 0.5;
        p.advance_gait(dt * 2.5);
    }
}

impl Fight {
    fn fighters_down_any(&self) -> bool {
        self.fighters.iter().any(|f| f.down.is_some())
    }
}

fn pos(f: &Fighter) -> (f32, f32) {
    (f.slot.0 + f.off.0, f.slot.1 + f.off.1)
}

/// Plans a fall near the camera: a walker timed to reach the spot as the span starts, or
/// someone standing there from the start.
pub(super) fn plan_fall(s: &mut Scene, t0: f32) -> Fall {
    let (px, pz) = s
        .layout
        .near_spot(&mut s.rng, &s.cam, 0.22)
        .unwrap_or_else(|| centre_spot(s));
    let look = Look::random(&mut s.rng);
    let walking = s.rng.random_bool(0.7);
    if walking {
        let dir = if s.rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let (x0, x1) = s.cam.visible_x(pz);
        let (a, b) = if dir > 0.0 {
            (x0 - 1.5, x1 + 1.5)
        } else {
            (x1 + 1.5, x0 - 1.5)
        };
        let speed = s.rng.random_range(1.1f32..1.6);
        let route = vec![
            Waypoint::at(a, pz),
            Waypoint::at(px, pz),
            Waypoint::at(b, pz),
        ];
        let at = entry_time(&route, 1, speed, t0).max(-s.warmup + 0.1);
        let p = Person::new(look, route, speed, &mut s.rng);
        Fall {
            entry: Entry::new(at, p),
            dir,
            dur: s.rng.random_range(0.35f32..0.6),
            start: None,
        }
    } else {
        // Someone standing about collapses.
        let route = vec![
            Waypoint {
                pause: 10_000.0,
                ..Waypoint::at(px, pz)
            },
            Waypoint::at(px + 1.0, pz),
        ];
        let mut p = Person::new(look, route, 1.3, &mut s.rng);
        p.mode = Mode::Idle { until: 10_000.0 };
        p.heading = s.rng.random_range(0.0f32..TAU);
        p.face = Some(p.heading);
        let dir = if s.rng.random_bool(0.5) { 1.0 } else { -1.0 };
        Fall {
            entry: Entry::new(-s.warmup, p),
            dir,
            dur: s.rng.random_range(0.4f32..0.8),
            start: None,
        }
    }
}

/// Topples the person over about `dur` seconds from `t0`, then leaves them lying.
pub(super) fn step_fall(f: &mut Fall, s: &mut Scene, t: f32, t0: f32) {
    f.entry.admit(t, &mut s.people);
    if t < t0 {
        return;
    }
    let Some(p) = f.entry.index.and_then(|i| s.people.get_mut(i)) else {
        return;
    };
    let (x0, z0, h) = *f.start.get_or_insert((p.x, p.z, p.heading));
    p.mode = Mode::Scripted;
    let u = ((t - t0) / f.dur).clamp(0.0, 1.0);
    let e = u * u;
    // Toppling forward: slow at first, then fast; a short slide along the walk.
    p.tilt = f.dir * (FRAC_PI_2 - 0.05) * e;
    let slide = 0.5 * e;
    p.x = x0 + h.cos() * slide;
    p.z = z0 + h.sin() * slide * 0.5;
    p.arms = Some([f.dir * (0.8 + 1.8 * u), f.dir * (1.4 + 1.2 * u)]);
    p.lean = -0.05 * f.dir * (1.0 - u);
    p.v = 0.0;
    p.stride_boost = 0.0;
}

/// Places 8–15 people standing close together on the widest walkable band, from the start.
pub(super) fn plan_scatter(s: &mut Scene) -> Scatter {
    // The widest place people stand: the plaza, or the widest pavement.
    let bands = s.layout.walk_bands();
    let best = bands.iter().copied().max_by(|a, b| {
        (a.1 - a.0 + if a.2 == Surface::Plaza { 5.0 } else { 0.0 })
            .total_cmp(&(b.1 - b.0 + if b.2 == Surface::Plaza { 5.0 } else { 0.0 }))
    });
    let (cx, cz, rz) = match best {
        Some((z0, z1, _)) => {
            let z = (z0 + z1) / 2.0 + s.rng.random_range(-0.25f32..0.25) * (z1 - z0);
            let sx = s.rng.random_range(0.3f32..0.7) * s.cam.w;
            (s.cam.x_at(sx, z), z, ((z1 - z0) / 2.0).clamp(0.4, 2.0))
        }
        None => {
            let (x, z) = centre_spot(s);
            (x, z, 1.0)
        }
    };
    let n = s.rng.random_range(8..=15usize);
    let rx = s.rng.random_range(1.3f32..2.6) * (n as f32 / 10.0).sqrt();
    let mut spots: Vec<(f32, f32)> = Vec::new();
    let mut tries = 0;
    while spots.len() < n && tries < 400 {
        tries += 1;
        let a = s.rng.random_range(0.0f32..TAU);
        let r = s.rng.random_range(0.0f32..1.0).sqrt();
        let (x, z) = (cx + rx * r * a.cos(), cz + rz * r * a.sin());
        let clear = spots
            .iter()
            .all(|q| (q.0 - x).powi(2) + ((q.1 - z) * 1.6).powi(2) > 0.45f32.powi(2));
        if clear && s.layout.walkable(x, z) {
            spots.push((x, z));
        }
    }
    let mut members = Vec::new();
    for (x, z) in spots {
        let look = Look::random(&mut s.rng);
        let route = vec![
            Waypoint {
                pause: 10_000.0,
                ..Waypoint::at(x, z)
            },
            Waypoint::at(x + 1.0, z),
        ];
        let mut p = Person::new(look, route, 1.3, &mut s.rng);
        p.mode = Mode::Idle { until: 10_000.0 };
        let face = (cz - z).atan2(cx - x) + s.rng.random_range(-0.5f32..0.5);
        p.face = Some(face);
        p.heading = face;
        s.people.push(p);
        members.push((
            s.people.len() - 1,
            s.rng.random_range(0.0f32..0.35),
            s.rng.random_range(4.0f32..6.5),
        ));
    }
    Scatter {
        members,
        centre: (cx + s.rng.random_range(-0.3f32..0.3), cz),
    }
}

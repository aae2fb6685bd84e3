//! The street of a scene: buildings along the facade line, the lanes and their vehicle paths,
//! entrances, and a junction's side road with its signals.

use super::*;
use crate::kit::camera::Camera;
use crate::kit::draw::{mix, mul};
use crate::kit::vehicle::{Group, Path};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::FRAC_PI_2;

impl Layout {
    /// Buildings (or a wall with trees) along the facade line.
    pub(super) fn backdrop(&mut self, rng: &mut ChaCha8Rng, cam: &Camera) {
        let (x0, x1) = cam.visible_x(self.z_far);
        if self.kind == Kind::Parking && rng.random_bool(0.6) {
            let colour = mix(WALLS[rng.random_range(0..WALLS.len())], [150.0; 3], 0.5);
            self.wall = Some((rng.random_range(1.8f32..2.8), colour));
            let mut x = x0 - 3.0;
            while x < x1 + 3.0 {
                self.trees_behind.push((
                    x,
                    rng.random_range(3.5f32..6.5),
                    rng.random_range(1.8f32..3.2),
                ));
                x += rng.random_range(2.5f32..6.0);
            }
            return;
        }
        let mut x = x0 - rng.random_range(0.0f32..8.0);
        while x < x1 + 1.0 {
            let w = rng.random_range(6.0f32..20.0);
            let floor_h = rng.random_range(2.8f32..3.4);
            let floors = rng.random_range(2..=8u32);
            let bay = rng.random_range(2.4f32..4.0);
            self.buildings.push(Building {
                x0: x,
                x1: x + w,
                height: floors as f32 * floor_h + rng.random_range(0.3f32..1.2),
                wall: mul(
                    WALLS[rng.random_range(0..WALLS.len())],
                    rng.random_range(0.85f32..1.1),
                ),
                floor_h,
                bay,
                win_w: rng.random_range(0.8f32..(bay - 0.7).max(0.9)),
                win_h: rng.random_range(1.1f32..1.7),
                shop: rng
                    .random_bool(0.55)
                    .then(|| AWNINGS[rng.random_range(0..AWNINGS.len())]),
                salt: rng.random::<u32>(),
            });
            x += w;
            if rng.random_bool(0.15) {
                x += rng.random_range(1.5f32..4.0);
            }
        }
    }

    /// Lanes, paths, entrances, and for a junction the side road and its signals.
    pub(super) fn traffic(&mut self, rng: &mut ChaCha8Rng, cam: &Camera, lanes_n: u32) {
        let (r0, r1) = self.road;
        let lw = (r1 - r0) / lanes_n as f32;
        let one_way = lanes_n >= 2 && self.kind == Kind::Street && rng.random_bool(0.2);
        let base = match self.kind {
            Kind::Parking => rng.random_range(3.5f32..6.0),
            _ => rng.random_range(7.0f32..12.5),
        };
        let fwd_lanes = if one_way {
            lanes_n
        } else {
            lanes_n.div_ceil(2)
        };
        let one_way_dir = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        for k in 0..lanes_n {
            let z = r0 + (k as f32 + 0.5) * lw;
            let dir = if one_way {
                one_way_dir
            } else if k < fwd_lanes {
                1.0
            } else {
                -1.0
            };
            self.lanes.push((z, dir));
        }
        if self.kind == Kind::Junction {
            let (n0, n1) = cam.visible_x(self.z_near + 1.0);
            let mid = n0 + (n1 - n0) * rng.random_range(0.3f32..0.7);
            let half = rng.random_range(3.0f32..3.6);
            self.side = Some((mid - half, mid + half));
            let walk = r0 - (self.z_near - 1.0);
            let zc = r0 - (walk * 0.5).min(4.0);
            self.side_zebra = (zc - 1.5, zc + 1.5);
            let main = rng.random_range(10.0f32..20.0);
            self.signals = Some(Signals {
                main,
                side: rng.random_range(6.0f32..11.0),
                amber: 2.5,
                offset: rng.random_range(0.0f32..60.0),
            });
        }
        let lanes = self.lanes.clone();
        for (i, &(z, dir)) in lanes.iter().enumerate() {
            let (x0, x1) = cam.visible_x(z);
            let (a, b) = if dir > 0.0 {
                (x0 - 8.0, x1 + 8.0)
            } else {
                (x1 + 8.0, x0 - 8.0)
            };
            let speed = base * rng.random_range(0.9f32..1.1);
            let mut paths = Vec::new();
            let straight = self.add_path(vec![(a, z), (b, z)]);
            paths.push((straight, 1.0));
            if let Some((s0, s1)) = self.side {
                let line_x = if dir > 0.0 { s0 - 2.5 } else { s1 + 2.5 };
                self.stops[straight] = Some(((line_x - a).abs(), Group::Main));
                // The nearest lane may turn right into the side road.
                if i == 0 && dir > 0.0 {
                    let x_out = (s0 + s1) / 2.0 - 1.6;
                    let r = z - r0 + 0.6;
                    let mut pts = vec![(a, z)];
                    for k in 0..=12 {
                        let t = k as f32 / 12.0 * FRAC_PI_2;
                        pts.push((x_out - r + r * t.sin(), z - r + r * t.cos()));
                    }
                    pts.push((x_out, self.z_near - 8.0));
                    let turn = self.add_path(pts);
                    self.stops[turn] = Some(((line_x - a).abs(), Group::Main));
                    paths.push((turn, 0.3));
                }
            }
            self.entrances.push(Entrance {
                paths,
                speed,
                big: lanes_n >= 2,
            });
        }
        if let Some((s0, s1)) = self.side {
            // Side road traffic comes from under the camera and turns left or right.
            let x_in = (s0 + s1) / 2.0 + 1.6;
            let z_in = self.z_near - 8.0;
            let z_s = r0 - 0.4;
            let near = lanes
                .iter()
                .find(|l| l.1 > 0.0)
                .map_or(r0 + lw / 2.0, |l| l.0);
            let far = lanes
                .iter()
                .rev()
                .find(|l| l.1 < 0.0)
                .map_or(r1 - lw / 2.0, |l| l.0);
            let mut entrance = Vec::new();
            for (right, weight) in [(true, 1.0), (false, 1.0)] {
                let target = if right { near } else { far };
                let r = target - z_s;
                let mut pts = vec![(x_in, z_in)];
                for k in 0..=12 {
                    let t = k as f32 / 12.0 * FRAC_PI_2;
                    let x = if right {
                        x_in + r - r * t.cos()
                    } else {
                        x_in - r + r * t.cos()
                    };
                    pts.push((x, z_s + r * t.sin()));
                }
                let (x0, x1) = cam.visible_x(target);
                pts.push((if right { x1 + 8.0 } else { x0 - 8.0 }, target));
                let p = self.add_path(pts);
                self.stops[p] = Some((r0 - 1.3 - z_in, Group::Side));
                entrance.push((p, weight));
            }
            self.entrances.push(Entrance {
                paths: entrance,
                speed: base * 0.8,
                big: false,
            });
        }
        if self.kind == Kind::Street && rng.random_bool(0.6) {
            let z = (r0 + r1) / 2.0;
            let (x0, x1) = cam.visible_x(z);
            self.crossing = Some(x0 + (x1 - x0) * rng.random_range(0.25f32..0.75));
        }
    }

    pub(super) fn add_path(&mut self, pts: Vec<(f32, f32)>) -> usize {
        self.paths.push(Path::new(pts));
        self.stops.push(None);
        self.paths.len() - 1
    }
}

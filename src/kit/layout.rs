//! The static part of a scene: where the road, pavements, plaza or car park lie, the buildings
//! behind them, street furniture, the vehicle paths with their stop lines, and the routes people
//! take. `paint` draws it.

mod furniture;
mod streets;

use super::camera::{Camera, Framing, Lighting};
use super::draw::mix;
use super::person::Waypoint;
use super::vehicle::{Group, Path, VehicleLook};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The kind of place the camera watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A road across the view between two pavements, maybe a zebra crossing.
    Street,
    /// A road at the back and a paved square in front.
    Plaza,
    /// A drive aisle between rows of parked cars.
    Parking,
    /// A T-junction with a side road coming towards the camera, traffic lights.
    Junction,
}

/// What a band of ground is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    Sidewalk,
    Road,
    Plaza,
    Grass,
    Parking,
}

/// A strip of ground between depths `z0` < `z1`, across the whole view.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Band {
    pub z0: f32,
    pub z1: f32,
    pub surface: Surface,
}

/// One building front along the back of the scene.
#[derive(Clone, Copy, Debug)]
pub(super) struct Building {
    pub(super) x0: f32,
    pub(super) x1: f32,
    pub(super) height: f32,
    pub(super) wall: [f32; 3],
    pub(super) floor_h: f32,
    pub(super) bay: f32,
    pub(super) win_w: f32,
    pub(super) win_h: f32,
    pub(super) shop: Option<[f32; 3]>,
    pub(super) salt: u32,
}

/// Street furniture and parked cars.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PropKind {
    Lamp,
    Tree { crown: f32, tone: [f32; 3] },
    Bench,
    Bin,
    Bollard,
    Planter,
    Parked { look: VehicleLook, heading: f32 },
    Signal { group: Group },
}

/// A prop standing on the ground at `(x, z)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prop {
    pub x: f32,
    pub z: f32,
    pub kind: PropKind,
}

/// Where vehicles enter: the paths that start there (with weights), their cruising speed, and
/// the stop line of each path.
#[derive(Clone, Debug)]
pub(crate) struct Entrance {
    pub paths: Vec<(usize, f32)>,
    pub speed: f32,
    pub big: bool,
}

/// A fixed-time traffic light cycle: main road green, amber, side road green, amber.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Signals {
    main: f32,
    side: f32,
    amber: f32,
    offset: f32,
}

impl Signals {
    /// Whether `group` must stop at time `t` (amber counts as stop for who still can).
    pub fn red(&self, t: f32, group: Group) -> bool {
        let cycle = self.main + self.side + 2.0 * self.amber;
        let p = (t + self.offset).rem_euclid(cycle);
        match group {
            Group::Main => p >= self.main,
            Group::Side => !(p >= self.main + self.amber && p < self.main + self.amber + self.side),
        }
    }

    /// Shifts the cycle so the main road has had green for a while at time `t`.
    pub fn green_main_at(&mut self, t: f32, after: f32) {
        let p = (self.main * 0.5).max(after.min(self.main - 0.5));
        self.offset = p - t;
    }

    /// Lamp shown to `group`: 0 green, 1 amber, 2 red.
    pub(super) fn aspect(&self, t: f32, group: Group) -> u8 {
        let cycle = self.main + self.side + 2.0 * self.amber;
        let p = (t + self.offset).rem_euclid(cycle);
        let (g0, g1) = match group {
            Group::Main => (0.0, self.main),
            Group::Side => (self.main + self.amber, self.main + self.amber + self.side),
        };
        if p >= g0 && p < g1 {
            0
        } else if p >= g1 && p < g1 + self.amber {
            1
        } else {
            2
        }
    }
}

/// Everything static about one video's place.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub kind: Kind,
    pub z_near: f32,
    /// Depth of the facade line.
    pub z_far: f32,
    pub bands: Vec<Band>,
    /// The main road, near and far edge.
    pub road: (f32, f32),
    /// Zebra crossing over the main road: its centre x.
    pub crossing: Option<f32>,
    /// Side road of a junction: its x range (it runs from the main road to the camera).
    pub side: Option<(f32, f32)>,
    /// Zebra over the side road: its z range.
    pub(super) side_zebra: (f32, f32),
    pub props: Vec<Prop>,
    pub paths: Vec<Path>,
    /// Stop line (distance along the path) and group, per path.
    pub stops: Vec<Option<(f32, Group)>>,
    pub entrances: Vec<Entrance>,
    pub signals: Option<Signals>,
    /// Lane centres of the main road with their direction of travel (+1 towards +x).
    pub lanes: Vec<(f32, f32)>,
    pub(super) buildings: Vec<Building>,
    /// Parking layouts show a wall with trees behind instead of buildings.
    pub(super) wall: Option<(f32, [f32; 3])>,
    pub(super) trees_behind: Vec<(f32, f32, f32)>,
    pub(super) asphalt: [f32; 3],
    pub(super) paving: [f32; 3],
    pub(super) paving2: [f32; 3],
    pub(super) slab: f32,
    pub(super) yellow_centre: bool,
    pub(super) salt: u32,
}

const WALLS: [[f32; 3]; 10] = [
    [150.0, 70.0, 55.0],
    [175.0, 95.0, 70.0],
    [200.0, 185.0, 160.0],
    [220.0, 215.0, 200.0],
    [160.0, 160.0, 158.0],
    [120.0, 122.0, 125.0],
    [210.0, 190.0, 140.0],
    [170.0, 190.0, 180.0],
    [190.0, 160.0, 150.0],
    [95.0, 90.0, 88.0],
];
const AWNINGS: [[f32; 3]; 6] = [
    [170.0, 30.0, 30.0],
    [30.0, 100.0, 60.0],
    [40.0, 60.0, 140.0],
    [200.0, 150.0, 40.0],
    [60.0, 60.0, 60.0],
    [150.0, 60.0, 120.0],
];

impl Layout {
    /// Draws a place for camera `cam`, with lamps added to `light`.
    pub fn random(rng: &mut ChaCha8Rng, cam: &Camera, light: &mut Lighting) -> Self {
        let kind = match rng.random_range(0..10u32) {
            0..=3 => Kind::Street,
            4 | 5 => Kind::Plaza,
            6 | 7 => Kind::Parking,
            _ => Kind::Junction,
        };
        let z_near = cam.z_near();
        // The facade line sits between 14% and 48% of the image height from the top, and at most
        // 24 m beyond the nearest ground, so that what happens at the back is still visible.
        let z_hi = cam
            .z_at_row(0.14 * cam.h)
            .unwrap_or(z_near + 30.0)
            .min(z_near + 24.0);
        let z_lo = cam.z_at_row(0.48 * cam.h).unwrap_or(z_near + 8.0);
        let depth_lo = (z_lo - z_near).max(8.0);
        let depth_hi = (z_hi - z_near).max(depth_lo + 0.5);
        let depth = rng.random_range(depth_lo..depth_hi);
        let z_far = z_near + depth;

        let mut bands = Vec::new();
        let far_walk = rng.random_range(2.5f32..4.5).min(depth * 0.3);
        let lane_w = rng.random_range(3.0f32..3.6);
        let room = depth - far_walk - 1.5;
        let mut lanes_n: u32 = match kind {
            Kind::Street => rng.random_range(2..=4),
            _ => 2,
        };
        while lanes_n > 1 && lanes_n as f32 * lane_w > room {
            lanes_n -= 1;
        }
        let mut z = z_far;
        bands.push(Band {
            z0: z - far_walk,
            z1: z,
            surface: Surface::Sidewalk,
        });
        z -= far_walk;
        if kind == Kind::Parking
            && z - z_near > 5.5 + lanes_n as f32 * lane_w + 2.0
            && rng.random_bool(0.5)
        {
            bands.push(Band {
                z0: z - 5.5,
                z1: z,
                surface: Surface::Parking,
            });
            z -= 5.5;
        }
        let road = (z - lanes_n as f32 * lane_w, z);
        bands.push(Band {
            z0: road.0,
            z1: road.1,
            surface: Surface::Road,
        });
        z = road.0;
        let rest = z - (z_near - 1.0);
        match kind {
            Kind::Plaza => {
                let kerb = rng.random_range(1.5f32..2.5).min(rest * 0.3);
                bands.push(Band {
                    z0: z - kerb,
                    z1: z,
                    surface: Surface::Sidewalk,
                });
                bands.push(Band {
                    z0: z_near - 1.0,
                    z1: z - kerb,
                    surface: Surface::Plaza,
                });
            }
            Kind::Parking if rest > 8.0 => {
                bands.push(Band {
                    z0: z - 5.5,
                    z1: z,
                    surface: Surface::Parking,
                });
                bands.push(Band {
                    z0: z_near - 1.0,
                    z1: z - 5.5,
                    surface: Surface::Sidewalk,
                });
            }
            _ if rest > 7.0 && rng.random_bool(0.4) => {
                let grass = rng.random_range(1.2f32..2.0);
                bands.push(Band {
                    z0: z - grass,
                    z1: z,
                    surface: Surface::Grass,
                });
                bands.push(Band {
                    z0: z_near - 1.0,
                    z1: z - grass,
                    surface: Surface::Sidewalk,
                });
            }
            _ => bands.push(Band {
                z0: z_near - 1.0,
                z1: z,
                surface: Surface::Sidewalk,
            }),
        }
        bands.sort_by(|a, b| a.z0.total_cmp(&b.z0));

        let salt = rng.random::<u32>();
        let asphalt_g = rng.random_range(60.0f32..88.0);
        let paving = [
            [175.0, 172.0, 165.0],
            [160.0, 160.0, 162.0],
            [185.0, 165.0, 140.0],
            [165.0, 120.0, 100.0],
            [140.0, 140.0, 135.0],
        ][rng.random_range(0..5)];
        let paving2 = mix(paving, [120.0, 120.0, 125.0], rng.random_range(0.1f32..0.4));
        let mut me = Self {
            kind,
            z_near,
            z_far,
            bands,
            road,
            crossing: None,
            side: None,
            side_zebra: (0.0, 0.0),
            props: Vec::new(),
            paths: Vec::new(),
            stops: Vec::new(),
            entrances: Vec::new(),
            signals: None,
            lanes: Vec::new(),
            buildings: Vec::new(),
            wall: None,
            trees_behind: Vec::new(),
            asphalt: [asphalt_g, asphalt_g + 1.0, asphalt_g + 4.0],
            paving,
            paving2,
            slab: rng.random_range(0.5f32..1.2),
            yellow_centre: rng.random_bool(0.4),
            salt,
        };
        me.backdrop(rng, cam);
        me.traffic(rng, cam, lanes_n);
        me.furniture(rng, cam, light);
        me
    }

    /// The band at depth `z`, if any.
    pub fn band_at(&self, z: f32) -> Option<&Band> {
        self.bands.iter().find(|b| z >= b.z0 && z < b.z1)
    }

    fn on_side_road(&self, x: f32, z: f32, margin: f32) -> bool {
        match self.side {
            Some((s0, s1)) => x > s0 - margin && x < s1 + margin && z < self.road.0,
            None => false,
        }
    }

    /// Whether vehicles drive at `(x, z)`.
    pub fn is_road(&self, x: f32, z: f32) -> bool {
        self.on_side_road(x, z, 0.0) || (z >= self.road.0 && z < self.road.1)
    }

    /// Whether people walk at `(x, z)` (pavements, plaza, car park, grass verges not).
    pub fn walkable(&self, x: f32, z: f32) -> bool {
        !self.on_side_road(x, z, 0.0)
            && self.band_at(z).is_some_and(|b| {
                matches!(
                    b.surface,
                    Surface::Sidewalk | Surface::Plaza | Surface::Parking
                )
            })
    }

    /// Bands people walk along, with usable depth ranges (kept off kerbs and the facade).
    pub fn walk_bands(&self) -> Vec<(f32, f32, Surface)> {
        self.bands
            .iter()
            .filter(|b| matches!(b.surface, Surface::Sidewalk | Surface::Plaza))
            .map(|b| {
                let z0 = b.z0.max(self.z_near + 0.4) + 0.5;
                let z1 = (b.z1 - 0.5).min(self.z_far - 0.6);
                (z0, z1.max(z0 + 0.05), b.surface)
            })
            .filter(|b| b.1 > b.0 + 0.1)
            .collect()
    }

    /// A route for someone passing through: along a pavement, maybe over the zebra, maybe
    /// stopping a while; across a plaza by a few waypoints.
    pub fn route(&self, rng: &mut ChaCha8Rng, cam: &Camera) -> Vec<Waypoint> {
        let bands = self.walk_bands();
        if bands.is_empty() {
            return Vec::new();
        }
        // Bands that fill more of the image get more walkers.
        let rows =
            |b: &(f32, f32, Surface)| (cam.row_of_z(b.0) - cam.row_of_z(b.1)).max(1.0).sqrt();
        let widths: f32 = bands.iter().map(rows).sum();
        let mut pick = rng.random_range(0.0..widths.max(1e-3));
        let mut band = bands[0];
        for b in &bands {
            pick -= rows(b);
            if pick <= 0.0 {
                band = *b;
                break;
            }
        }
        let z = rng.random_range(band.0..band.1);
        let dir = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let (x0, x1) = cam.visible_x(z);
        let (start, end) = if dir > 0.0 {
            (x0 - 1.5, x1 + 1.5)
        } else {
            (x1 + 1.5, x0 - 1.5)
        };
        let mut route = vec![Waypoint::at(start, z)];
        if band.2 == Surface::Plaza {
            // Wander: maybe enter from under the camera, visit a few places.
            if rng.random_bool(0.35) {
                let x = rng.random_range(x0..x1);
                route = vec![Waypoint::at(x, self.z_near - 1.0)];
            }
            for _ in 0..rng.random_range(1..=3) {
                let wz = rng.random_range(band.0..band.1);
                let (a, b) = cam.visible_x(wz);
                let mut w = Waypoint::at(rng.random_range(a + 1.0..(b - 1.0).max(a + 1.1)), wz);
                if rng.random_bool(0.3) {
                    w.pause = rng.random_range(2.0f32..10.0);
                }
                route.push(w);
            }
            let ez = rng.random_range(band.0..band.1);
            let (a, b) = cam.visible_x(ez);
            route.push(Waypoint::at(
                if rng.random_bool(0.5) {
                    a - 1.5
                } else {
                    b + 1.5
                },
                ez,
            ));
            return route;
        }
        // Over the zebra to the other side of the road.
        if let Some(xc) = self.crossing
            && rng.random_bool(0.4)
        {
            let other = bands
                .iter()
                .find(|b| (b.0 > self.road.1) != (band.0 > self.road.1));
            if let Some(other) = other {
                let x = xc + rng.random_range(-1.3f32..1.3);
                let oz = rng.random_range(other.0..other.1);
                let (kerb_here, kerb_there) = if z < self.road.0 {
                    (self.road.0 - 0.3, self.road.1 + 0.3)
                } else {
                    (self.road.1 + 0.3, self.road.0 - 0.3)
                };
                route.push(Waypoint::at(x, z));
                route.push(Waypoint {
                    cross: true,
                    ..Waypoint::at(x, kerb_here)
                });
                route.push(Waypoint::at(x, kerb_there));
                route.push(Waypoint::at(x, oz));
                let (a, b) = cam.visible_x(oz);
                let out = if rng.random_bool(0.5) {
                    a - 1.5
                } else {
                    b + 1.5
                };
                route.push(Waypoint::at(out, oz));
                return route;
            }
        }
        // Over the side road of a junction, on its zebra.
        if let Some((s0, s1)) = self.side
            && z < self.road.0
        {
            let zz = rng.random_range(self.side_zebra.0 + 0.3..self.side_zebra.1 - 0.3);
            let (first, second) = if dir > 0.0 {
                (s0 - 0.4, s1 + 0.4)
            } else {
                (s1 + 0.4, s0 - 0.4)
            };
            route.push(Waypoint::at(first - dir * 2.0, zz));
            route.push(Waypoint {
                cross: true,
                ..Waypoint::at(first, zz)
            });
            route.push(Waypoint::at(second, zz));
            route.push(Waypoint::at(second + dir * 2.0, z));
            route.push(Waypoint::at(end, z));
            return route;
        }
        if rng.random_bool(0.2) {
            let x = rng.random_range(x0 + 1.0..(x1 - 1.0).max(x0 + 1.1));
            route.push(Waypoint {
                pause: rng.random_range(2.0f32..8.0),
                ..Waypoint::at(x, z)
            });
        }
        route.push(Waypoint::at(end, z));
        route
    }

    /// A random visible spot where people can stand, at least `margin` image widths from the
    /// sides, or `None` if the place has no room.
    pub fn spot(&self, rng: &mut ChaCha8Rng, cam: &Camera, margin: f32) -> Option<(f32, f32)> {
        let bands = self.walk_bands();
        for _ in 0..20 {
            let b = bands.get(rng.random_range(0..bands.len().max(1)))?;
            let z = rng.random_range(b.0..b.1);
            let sx = rng.random_range(margin * cam.w..(1.0 - margin) * cam.w);
            let x = cam.x_at(sx, z);
            if self.walkable(x, z) {
                return Some((x, z));
            }
        }
        None
    }

    /// A spot like [`Layout::spot`] but in the nearer part of the view (from a third of the
    /// way down the ground to near the bottom edge), where an incident is big enough to see.
    pub fn near_spot(&self, rng: &mut ChaCha8Rng, cam: &Camera, margin: f32) -> Option<(f32, f32)> {
        let top = cam.row_of_z(self.z_far);
        let (y0, y1) = (top + 0.35 * (cam.h - top), 0.93 * cam.h);
        for _ in 0..60 {
            let sy = rng.random_range(y0..y1.max(y0 + 1.0));
            let Some(z) = cam.z_at_row(sy) else { continue };
            let sx = rng.random_range(margin * cam.w..(1.0 - margin) * cam.w);
            let x = cam.x_at(sx, z);
            if self.walkable(x, z) && self.walk_bands().iter().any(|b| z >= b.0 && z <= b.1) {
                return Some((x, z));
            }
        }
        if cam.framing == Framing::Close {
            // A close camera often has road or crossing in front of it: the incident happens
            // there, in the lower half of the picture, rather than on a far pavement where it
            // would be as small as in a wide view.
            for _ in 0..60 {
                let sy = rng.random_range(0.5 * cam.h..0.9 * cam.h);
                let Some(z) = cam.z_at_row(sy) else { continue };
                let x = cam.x_at(rng.random_range(margin * cam.w..(1.0 - margin) * cam.w), z);
                if !self.on_side_road(x, z, 0.0) {
                    return Some((x, z));
                }
            }
        }
        self.spot(rng, cam, margin)
    }
}

//! One video's world over time: what moves where in each frame, and how a frame is drawn.
//!
//! The simulation runs a warm-up before the first frame so that a video opens on a street
//! already in use (cars mid-road, people mid-walk), then one fixed step per frame. Everything
//! random comes from the video's own ChaCha8 stream, drawn in a fixed order, so a seed gives the
//! same frames on every run.

use super::Class;
use super::camera::{Camera, Framing, Lighting, Tod};
use super::draw::{Canvas, Rgb};
use super::incident::{Incident, normal_group};
use super::layout::{Layout, PropKind};
use super::paint::draw_prop;
use super::person::{Look, Mode, Person, Waypoint, draw_person};
use super::vehicle::{Motion, Obstacle, Path, Vehicle, VehicleLook, draw_vehicle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seconds simulated before the first frame.
const WARMUP_S: f32 = 30.0;

/// How busy the place is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Busyness {
    /// Walkers on their way: at least `lo`, up to `hi`; new ones arrive at `rate` per second.
    pub lo: usize,
    pub hi: usize,
    pub rate: f32,
    /// Moving vehicles at most, and arrivals per second per entrance.
    pub cars_max: usize,
    pub car_rate: f32,
}

/// One video's world.
pub(crate) struct Scene {
    pub cam: Camera,
    pub light: Lighting,
    pub layout: Layout,
    pub people: Vec<Person>,
    pub cars: Vec<Vehicle>,
    /// The layout's paths plus any an incident adds.
    pub paths: Vec<Path>,
    pub rng: ChaCha8Rng,
    /// Seconds of warm-up before frame 0.
    pub warmup: f32,
    dt: f32,
    /// Simulation step now; frame `i` shows step `i`.
    tick: i64,
    busy: Busyness,
    /// Planned incidents, in time order (one in a kit video; several in a long scene).
    incidents: Vec<Incident>,
    bg: Canvas,
    scratch: Canvas,
    blur: Vec<u8>,
    noise: Vec<i8>,
    vignette: Vec<u16>,
    /// On-screen display: seconds since midnight at frame 0, date, camera number.
    clock: (u32, (u32, u32, u32), u32),
}

/// How a kit video is shot: its camera, and how much of it the incident fills.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Shot {
    /// The camera's distance to the action.
    pub framing: Framing,
    /// The incident's share of the video, drawn from this range; `None`: 2–5 s anywhere in the
    /// middle 70 % (the kit's first videos).
    pub incident_share: Option<(f64, f64)>,
}

impl Scene {
    /// A scene for one video of `frames` frames from `seed`, with an incident unless `class` is
    /// normal; ready to render frame 0.
    #[cfg(test)]
    pub fn new(seed: u64, w: u32, h: u32, fps: u32, class: Class, frames: u64) -> Self {
        Self::shot(seed, (w, h, fps), class, frames, Shot::default())
    }

    /// [`Scene::new`] with the camera and incident length of `shot`.
    pub fn shot(
        seed: u64,
        (w, h, fps): (u32, u32, u32),
        class: Class,
        frames: u64,
        shot: Shot,
    ) -> Self {
        let mut scene = Self::world(seed, w, h, fps, None, shot.framing);
        scene.extras(frames as f32 * scene.dt);
        if class != Class::Normal {
            let inc = match shot.incident_share {
                None => Incident::plan(class, &mut scene, frames, fps),
                Some(share) => Incident::plan_share(class, &mut scene, frames, fps, share),
            };
            scene.incidents.push(inc);
        }
        scene.warm_up();
        scene
    }

    /// A long fixed-camera scene (`kit::long`): `busy` replaces the drawn busyness, nobody
    /// stands about from the start, and each `(class, first, last)` of `incidents` happens over
    /// those frames.
    pub fn long(
        seed: u64,
        (w, h, fps): (u32, u32, u32),
        busy: Busyness,
        incidents: &[(Class, (u64, u64))],
    ) -> Self {
        let mut scene = Self::world(seed, w, h, fps, Some(busy), Framing::Standard);
        for &(class, span) in incidents {
            let inc = Incident::plan_span(class, &mut scene, span, fps);
            scene.incidents.push(inc);
        }
        scene.warm_up();
        scene
    }

    /// The place, its light and camera and its traffic, before anyone is placed.
    fn world(
        seed: u64,
        w: u32,
        h: u32,
        fps: u32,
        busy_override: Option<Busyness>,
        framing: Framing,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cam = Camera::framed(&mut rng, w, h, framing);
        let mut light = Lighting::random(&mut rng);
        let layout = Layout::random(&mut rng, &cam, &mut light);
        let bg = layout.bake(&cam, &light);
        let b: f32 = rng.random_range(0.0f32..1.0);
        let lo = 2 + (b * 2.5) as usize;
        let busy = Busyness {
            lo,
            hi: (lo + 2 + (b * 4.0) as usize).min(8),
            rate: 0.08 + 0.35 * b,
            cars_max: if rng.random_bool(0.12) {
                0
            } else {
                rng.random_range(1..=4usize)
            },
            car_rate: rng.random_range(0.03f32..0.22),
        };
        let busy = busy_override.unwrap_or(busy);
        let amp = light.noise;
        let noise = (0..1usize << 16)
            .map(|_| {
                let a: f32 = rng.random_range(-1.0f32..1.0);
                let b: f32 = rng.random_range(-1.0f32..1.0);
                ((a + b) * amp).round().clamp(-100.0, 100.0) as i8
            })
            .collect();
        let strength = rng.random_range(0.15f32..0.4);
        let (cw, ch) = (w as usize, h as usize);
        let mut vignette = Vec::with_capacity(cw * ch);
        for y in 0..ch {
            for x in 0..cw {
                let dx = (x as f32 + 0.5) / w as f32 - 0.5;
                let dy = (y as f32 + 0.5) / h as f32 - 0.5;
                let k = 1.0 - strength * (dx * dx + dy * dy) * 2.0;
                vignette.push((k.clamp(0.0, 1.0) * 256.0) as u16);
            }
        }
        let hour = match light.tod {
            Tod::Day => rng.random_range(9..16u32),
            Tod::Overcast => rng.random_range(8..17u32),
            Tod::Dusk => rng.random_range(18..20u32),
            Tod::Night => [21, 22, 23, 0, 1, 2, 3, 4][rng.random_range(0..8)],
        };
        let clock = (
            hour * 3600 + rng.random_range(0..3600u32),
            (
                rng.random_range(2021..2026u32),
                rng.random_range(1..13u32),
                rng.random_range(1..29u32),
            ),
            rng.random_range(1..17u32),
        );
        let dt = 1.0 / fps.max(1) as f32;
        let paths = layout.paths.clone();
        Self {
            cam,
            light,
            layout,
            people: Vec::new(),
            cars: Vec::new(),
            paths,
            rng,
            warmup: WARMUP_S,
            dt,
            tick: -((WARMUP_S / dt).round() as i64),
            busy,
            incidents: Vec::new(),
            scratch: bg.clone(),
            bg,
            blur: Vec::new(),
            noise,
            vignette,
            clock,
        }
    }

    /// Runs the warm-up, so that frame 0 shows a place already in use.
    fn warm_up(&mut self) {
        while self.tick < 0 {
            self.advance();
        }
    }

    /// The kind of place and time of day `seed` draws, without building the scene (a long
    /// scene searches seeds for a car park at night or a junction by day).
    pub fn peek(seed: u64, w: u32, h: u32) -> (super::layout::Kind, Tod) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cam = Camera::framed(&mut rng, w, h, Framing::Standard);
        let mut light = Lighting::random(&mut rng);
        let layout = Layout::random(&mut rng, &cam, &mut light);
        (layout.kind, light.tod)
    }

    /// The annotated frames of the (first) incident, if any.
    pub fn incident_frames(&self) -> Option<(u64, u64)> {
        self.incidents.first().map(|i| i.frames)
    }

    /// The annotated frames of every incident, in time order.
    pub fn all_incident_frames(&self) -> Vec<(u64, u64)> {
        self.incidents.iter().map(|i| i.frames).collect()
    }

    /// `day`, `overcast`, `dusk` or `night`.
    pub fn lighting(&self) -> &'static str {
        self.light.tod.name()
    }

    fn now(&self) -> f32 {
        self.tick as f32 * self.dt
    }

    /// People standing about from the start: a few loners, sometimes a group.
    fn extras(&mut self, duration: f32) {
        for _ in 0..self.rng.random_range(0..=2u32) {
            let Some((x, z)) = self.layout.spot(&mut self.rng, &self.cam, 0.05) else {
                continue;
            };
            let (x0, x1) = self.cam.visible_x(z);
            let exit = if self.rng.random_bool(0.5) {
                x0 - 1.5
            } else {
                x1 + 1.5
            };
            let route = vec![Waypoint::at(x, z), Waypoint::at(exit, z)];
            let look = Look::random(&mut self.rng);
            let speed = self.rng.random_range(1.0f32..1.5);
            let mut p = Person::new(look, route, speed, &mut self.rng);
            p.mode = Mode::Idle {
                until: self.rng.random_range(-10.0f32..duration + 30.0),
            };
            let face = self.rng.random_range(0.0f32..std::f32::consts::TAU);
            p.face = Some(face);
            p.heading = face;
            self.people.push(p);
        }
        if self.rng.random_bool(0.3) {
            let until = self.rng.random_range(-5.0f32..duration + 20.0);
            normal_group(self, until);
        }
    }

    /// Moves the world one step forward.
    fn advance(&mut self) {
        self.tick += 1;
        let t = self.now();
        let dt = self.dt;
        let mut incidents = std::mem::take(&mut self.incidents);
        for inc in &mut incidents {
            inc.step(self, t, dt);
        }
        self.incidents = incidents;
        // Vehicles see each other, people on the road, and a fire.
        let mut obstacles: Vec<Obstacle> = self
            .cars
            .iter()
            .map(|v| if v.gone { far_away() } else { v.obstacle() })
            .collect();
        for p in &self.people {
            if p.mode != Mode::Gone && self.layout.is_road(p.x, p.z) {
                obstacles.push(Obstacle {
                    x: p.x,
                    z: p.z,
                    heading: 0.0,
                    half_len: 0.3,
                    half_wid: 0.3,
                    vx: 0.0,
                    vz: 0.0,
                });
            }
        }
        obstacles.extend(self.incidents.iter().filter_map(|i| i.obstacle(t)));
        let signals = self.layout.signals;
        for i in 0..self.cars.len() {
            if self.cars[i].gone {
                continue;
            }
            self.cars[i].step(dt, &self.paths, &obstacles, i, |g| {
                signals.is_some_and(|s| s.red(t, g))
            });
            obstacles[i] = self.cars[i].obstacle();
        }
        let moving: Vec<Obstacle> = self
            .cars
            .iter()
            .filter(|v| !v.gone)
            .map(Vehicle::obstacle)
            .collect();
        for p in self.people.iter_mut() {
            p.step(t, dt, &moving);
        }
        self.spawn(t);
        // Forget vehicles far out of view (they never come back).
        for v in self.cars.iter_mut() {
            if !v.gone && (v.z > 400.0 || v.z < -50.0 || v.x.abs() > 400.0) {
                v.gone = true;
            }
        }
    }

    /// New walkers and vehicles arriving.
    fn spawn(&mut self, t: f32) {
        let walking = self
            .people
            .iter()
            .filter(|p| matches!(p.mode, Mode::Walk | Mode::Wait { .. }))
            .count();
        let b = self.busy;
        if walking < b.lo
            || (walking < b.hi && self.rng.random_bool(f64::from((b.rate * self.dt).min(1.0))))
        {
            let route = self.layout.route(&mut self.rng, &self.cam);
            if route.len() >= 2 {
                let look = Look::random(&mut self.rng);
                let speed = if self.rng.random_bool(0.04) {
                    self.rng.random_range(2.4f32..3.2)
                } else if look.height < 1.45 {
                    self.rng.random_range(0.9f32..1.3)
                } else {
                    self.rng.random_range(1.05f32..1.7)
                };
                let p = Person::new(look, route, speed, &mut self.rng);
                self.people.push(p);
            }
        }
        let moving = self
            .cars
            .iter()
            .filter(|v| !v.gone && !v.scripted && matches!(v.motion, Motion::Path { .. }))
            .count();
        for e in 0..self.layout.entrances.len() {
            if moving >= b.cars_max
                || !self
                    .rng
                    .random_bool(f64::from((b.car_rate * self.dt).min(1.0)))
            {
                continue;
            }
            if self.incidents.iter().any(|i| i.blocks_entrance(e, t)) {
                continue;
            }
            let entrance = &self.layout.entrances[e];
            let total: f32 = entrance.paths.iter().map(|p| p.1).sum();
            let mut pick = self.rng.random_range(0.0..total.max(1e-3));
            let mut path = entrance.paths.first().map_or(0, |p| p.0);
            for &(p, wgt) in &entrance.paths {
                pick -= wgt;
                if pick <= 0.0 {
                    path = p;
                    break;
                }
            }
            let (sx, sz, _) = self.paths.get(path).map_or((0.0, 0.0, 0.0), |p| p.at(0.0));
            let clear = self
                .cars
                .iter()
                .filter(|v| !v.gone)
                .all(|v| (v.x - sx).powi(2) + (v.z - sz).powi(2) > 14.0f32.powi(2));
            if !clear {
                continue;
            }
            let speed = entrance.speed * self.rng.random_range(0.9f32..1.1);
            let big = entrance.big;
            let look = VehicleLook::random(&mut self.rng, big);
            let mut v = Vehicle::on_path(look, path, &self.paths, speed);
            v.stop = self.layout.stops.get(path).copied().flatten();
            v.lights = match self.light.tod {
                Tod::Night => true,
                Tod::Dusk => self.rng.random_bool(0.7),
                Tod::Overcast => self.rng.random_bool(0.15),
                Tod::Day => false,
            };
            self.cars.push(v);
            return;
        }
    }

    /// Draws the current step into `out`, then moves the world on.
    pub fn render_next(&mut self, out: &mut Canvas) {
        let t = self.now();
        out.copy_from(&self.bg);
        for inc in &self.incidents {
            inc.draw_ground(out, &self.cam, t);
        }
        self.draw_things(out, t);
        let incidents = std::mem::take(&mut self.incidents);
        for inc in &incidents {
            inc.draw_air(out, &self.cam, t, &mut self.rng);
            inc.lens(out, &mut self.scratch, &mut self.blur, t, &mut self.rng);
        }
        self.incidents = incidents;
        self.sensor(out);
        self.osd(out, t);
        self.advance();
    }

    /// Props, people and vehicles, far to near.
    fn draw_things(&mut self, out: &mut Canvas, t: f32) {
        #[derive(Clone, Copy)]
        enum Thing {
            Prop(usize),
            Person(usize),
            Car(usize),
        }
        let mut order: Vec<(f32, Thing)> = Vec::new();
        for (i, p) in self.layout.props.iter().enumerate() {
            let z = match p.kind {
                PropKind::Parked { .. } => p.z,
                _ => p.z - 0.01,
            };
            order.push((z, Thing::Prop(i)));
        }
        for (i, p) in self.people.iter().enumerate() {
            if p.mode != Mode::Gone && self.cam.sees(p.x, p.z, p.look.height, 2.0) {
                order.push((p.z, Thing::Person(i)));
            }
        }
        for (i, v) in self.cars.iter().enumerate() {
            if !v.gone && v.z > 1.0 {
                order.push((v.z, Thing::Car(i)));
            }
        }
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, thing) in order {
            match thing {
                Thing::Prop(i) => draw_prop(
                    out,
                    &self.cam,
                    &self.light,
                    &self.layout,
                    &self.layout.props[i],
                    t,
                ),
                Thing::Person(i) => {
                    let p = &self.people[i];
                    draw_person(out, &self.cam, &self.light, &p.look, &p.pose());
                }
                Thing::Car(i) => {
                    let v = &self.cars[i];
                    let jitter = if v.shake > 0.0 {
                        (
                            self.rng.random_range(-1.0f32..1.0),
                            self.rng.random_range(-1.0f32..1.0),
                        )
                    } else {
                        (0.0, 0.0)
                    };
                    draw_vehicle(out, &self.cam, &self.light, &v.look, &v.pose(jitter));
                }
            }
        }
    }

    /// The camera's own marks: vignetting, sensor noise, infrared grey at night.
    fn sensor(&mut self, out: &mut Canvas) {
        let mask = self.noise.len() - 1;
        let mut k = self.rng.random_range(0..self.noise.len());
        let mono = self.light.mono;
        for (p, &v) in out.px.chunks_exact_mut(3).zip(self.vignette.iter()) {
            let n = i32::from(self.noise[k & mask]);
            k = k.wrapping_add(1);
            let v = u32::from(v);
            if mono {
                let y = (77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8;
                let y = ((y * v) >> 8) as i32 + n;
                let y = y.clamp(0, 255) as u8;
                p.copy_from_slice(&[y, y, y]);
            } else {
                for c in p.iter_mut() {
                    let x = ((u32::from(*c) * v) >> 8) as i32 + n;
                    *c = x.clamp(0, 255) as u8;
                }
            }
        }
    }

    /// Date, time and camera number, as a DVR stamps them.
    fn osd(&self, out: &mut Canvas, t: f32) {
        let scale = (out.w as f32 / 320.0).floor().max(1.0);
        let (start, (y, mo, d), cam) = self.clock;
        let secs = (start + t.max(0.0) as u32) % 86_400;
        let text = format!(
            "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let white: Rgb = [235, 235, 235];
        out.text(3.0 * scale, 3.0 * scale, scale, &text, white);
        let label = format!("CAM {cam:02}");
        let x = out.w as f32 - (label.len() as f32 * 4.0 + 3.0) * scale;
        out.text(x, out.h as f32 - 8.0 * scale, scale, &label, white);
    }
}

/// Stands in for a vehicle that has left (keeps obstacle indices aligned with vehicles).
fn far_away() -> Obstacle {
    Obstacle {
        x: 1.0e6,
        z: 1.0e6,
        heading: 0.0,
        half_len: 0.0,
        half_wid: 0.0,
        vx: 0.0,
        vz: 0.0,
    }
}

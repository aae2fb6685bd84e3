//! The fixed camera and the light of the scene.
//!
//! Everything in a kit scene lives on a flat ground plane in metres (x to the right, z away from
//! the camera, height up) and is projected by one pinhole camera, so walking speeds, sizes and
//! perspective agree with each other: a figure far away is small and slow on screen, one near the
//! camera large and fast, which is what the anomaly detector sees in real CCTV.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A pinhole camera with a horizontal axis and a shifted image centre (a tilted CCTV view
/// without converging verticals): ground depth `z` appears at row `y_v + f·hc/z`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Camera {
    pub w: f32,
    pub h: f32,
    /// Column of the optical centre.
    pub cx: f32,
    /// Row of the horizon (may lie above the image).
    pub y_v: f32,
    /// Camera height above the ground, metres.
    pub hc: f32,
    /// Focal length, pixels.
    pub f: f32,
    /// How close it stands (incidents are placed near it when close).
    pub framing: Framing,
}

/// How close the camera stands to where things happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Framing {
    /// A wide CCTV view: an adult at the bottom edge a quarter to a third of the image tall,
    /// most of the scene's people far smaller (the kit's first 90 videos).
    #[default]
    Standard,
    /// A camera mounted lower and nearer (a shop door, a stairwell, a bus stop): an adult at
    /// the bottom edge half to two thirds of the image tall, with a narrower view, so that the
    /// people of a fight or a fall are tens of pixels tall even after the 224×224 resize.
    Close,
}

impl Camera {
    /// A camera of `framing`: standard, mounted 5–9 m up with a 55–75° field of view, framed
    /// so an adult at the bottom edge is about a quarter to a third of the image tall; close,
    /// lower with a 42–55° view and the adult half to two thirds of the image. Both draw the
    /// same random numbers.
    pub fn framed(rng: &mut ChaCha8Rng, w: u32, h: u32, framing: Framing) -> Self {
        let (w, h) = (w as f32, h as f32);
        let fov = match framing {
            Framing::Standard => rng.random_range(55.0f32..75.0),
            Framing::Close => rng.random_range(42.0f32..55.0),
        }
        .to_radians();
        let f = w / 2.0 / (fov / 2.0).tan();
        let y_v = h * rng.random_range(-0.12f32..0.04);
        let person_frac = match framing {
            Framing::Standard => rng.random_range(0.24f32..0.33),
            Framing::Close => rng.random_range(0.5f32..0.68),
        };
        let hc = 1.7 * (h - y_v) / (person_frac * h);
        Self {
            w,
            h,
            cx: w / 2.0 + rng.random_range(-0.05f32..0.05) * w,
            y_v,
            hc,
            f,
            framing,
        }
    }

    /// Pixels per metre at depth `z`.
    pub fn ppm(&self, z: f32) -> f32 {
        self.f / z.max(0.2)
    }

    /// Screen position of the world point `(x, height, z)`.
    pub fn project(&self, x: f32, up: f32, z: f32) -> (f32, f32) {
        let z = z.max(0.2);
        (
            self.cx + x * self.f / z,
            self.y_v + self.f * (self.hc - up) / z,
        )
    }

    /// Ground depth seen at image row `y` (pixel centre); `None` at or above the horizon.
    pub fn z_at_row(&self, y: f32) -> Option<f32> {
        let d = y - self.y_v;
        (d > 0.5).then(|| self.f * self.hc / d)
    }

    /// Image row of ground depth `z`.
    pub fn row_of_z(&self, z: f32) -> f32 {
        self.y_v + self.f * self.hc / z.max(0.2)
    }

    /// World x at image column `sx` and depth `z`.
    pub fn x_at(&self, sx: f32, z: f32) -> f32 {
        (sx - self.cx) / self.ppm(z)
    }

    /// World x range visible at depth `z`.
    pub fn visible_x(&self, z: f32) -> (f32, f32) {
        (self.x_at(0.0, z), self.x_at(self.w, z))
    }

    /// Depth at the bottom edge of the image: the nearest ground in view.
    pub fn z_near(&self) -> f32 {
        self.z_at_row(self.h).unwrap_or(1.0)
    }

    /// Whether a figure of height `tall` standing at `(x, z)` is at least partly in view.
    pub fn sees(&self, x: f32, z: f32, tall: f32, margin_m: f32) -> bool {
        let (x0, x1) = self.visible_x(z);
        let (_, top) = self.project(x, tall, z);
        x > x0 - margin_m && x < x1 + margin_m && z > self.z_near() - margin_m && top < self.h
    }
}

/// Time of day; recorded in the kit as `lighting`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tod {
    Day,
    Overcast,
    Dusk,
    Night,
}

impl Tod {
    /// The word written to `kit.json`.
    pub fn name(self) -> &'static str {
        match self {
            Tod::Day => "day",
            Tod::Overcast => "overcast",
            Tod::Dusk => "dusk",
            Tod::Night => "night",
        }
    }
}

/// A street lamp's pool of light on the ground.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lamp {
    pub x: f32,
    pub z: f32,
    pub colour: [f32; 3],
    /// Radius of the pool, metres.
    pub reach: f32,
}

/// Ambient light, lamps, shadows and the camera's response for one video.
#[derive(Clone, Debug)]
pub(crate) struct Lighting {
    pub tod: Tod,
    /// Multiplier applied to every surface colour.
    pub ambient: [f32; 3],
    /// Multiplier added under a lamp, at the lamp's centre.
    pub lamps: Vec<Lamp>,
    pub lamps_on: bool,
    /// Ground offset of a shadow per metre of height (towards the sun's opposite side).
    pub sun: (f32, f32),
    /// Factor a shadow multiplies the ground by (1 = no shadow).
    pub shadow: f32,
    /// Amplitude of per-frame sensor noise, in 8-bit levels.
    pub noise: f32,
    /// Infrared night mode: the camera records grey.
    pub mono: bool,
    /// Sky colours at the top and at the horizon.
    pub sky: ([f32; 3], [f32; 3]),
    /// Share of lit windows.
    pub windows_lit: f32,
}

impl Lighting {
    /// Draws one of the four times of day, about equally often.
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        let tod = match rng.random_range(0..8u32) {
            0..=2 => Tod::Day,
            3 | 4 => Tod::Overcast,
            5 => Tod::Dusk,
            _ => Tod::Night,
        };
        let sun_angle = rng.random_range(0.0f32..std::f32::consts::TAU);
        let sun_len = rng.random_range(0.3f32..1.1);
        let g = rng.random_range(0.92f32..1.08);
        let (ambient, shadow, noise, sky, windows_lit) = match tod {
            Tod::Day => (
                [1.04 * g, 1.0 * g, 0.95 * g],
                rng.random_range(0.5f32..0.65),
                2.0,
                ([120.0, 165.0, 225.0], [190.0, 210.0, 235.0]),
                0.0,
            ),
            Tod::Overcast => (
                [0.80 * g, 0.82 * g, 0.86 * g],
                0.85,
                3.0,
                ([170.0, 175.0, 182.0], [200.0, 203.0, 208.0]),
                0.05,
            ),
            Tod::Dusk => (
                [0.62 * g, 0.48 * g, 0.42 * g],
                0.8,
                4.5,
                ([70.0, 70.0, 120.0], [235.0, 140.0, 90.0]),
                0.3,
            ),
            Tod::Night => (
                [0.22 * g, 0.24 * g, 0.33 * g],
                0.9,
                6.5,
                ([6.0, 8.0, 18.0], [22.0, 26.0, 42.0]),
                0.35,
            ),
        };
        Self {
            tod,
            ambient,
            lamps: Vec::new(),
            lamps_on: matches!(tod, Tod::Dusk | Tod::Night),
            sun: (sun_angle.cos() * sun_len, sun_angle.sin() * sun_len * 0.6),
            shadow,
            noise,
            mono: tod == Tod::Night && rng.random_bool(0.3),
            sky,
            windows_lit,
        }
    }

    /// Light multiplier on the ground (or on anything standing there) at `(x, z)`.
    pub fn at(&self, x: f32, z: f32) -> [f32; 3] {
        let mut m = self.ambient;
        if self.lamps_on {
            for l in &self.lamps {
                let d2 = ((x - l.x).powi(2) + (z - l.z).powi(2)) / (l.reach * l.reach);
                if d2 < 1.0 {
                    let k = (1.0 - d2) * (1.0 - d2);
                    for (m, lc) in m.iter_mut().zip(l.colour) {
                        *m += lc * k;
                    }
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Height on screen, as a share of the image, of a 1.7 m adult standing at depth `z`.
    fn adult(cam: &Camera, z: f32) -> f32 {
        let (_, feet) = cam.project(0.0, 0.0, z);
        let (_, head) = cam.project(0.0, 1.7, z);
        (feet - head) / cam.h
    }

    #[test]
    fn a_close_camera_shows_people_about_twice_as_tall() {
        for seed in 0..50 {
            let draw = |framing| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                Camera::framed(&mut rng, 320, 240, framing)
            };
            let (wide, close) = (draw(Framing::Standard), draw(Framing::Close));
            let (a, b) = (adult(&wide, wide.z_near()), adult(&close, close.z_near()));
            assert!((0.23..0.34).contains(&a), "seed {seed}: {a}");
            assert!((0.49..0.69).contains(&b), "seed {seed}: {b}");
            // Across the middle of the picture, too.
            let mid = |c: &Camera| c.z_at_row(c.h * 0.6).unwrap_or(1.0);
            assert!(
                adult(&close, mid(&close)) > 1.5 * adult(&wide, mid(&wide)),
                "seed {seed}"
            );
        }
    }
}

//! Street furniture: lamps (which also light the scene), trees, benches, bins, parked cars and
//! signal heads.

use super::*;
use crate::kit::camera::{Camera, Lamp, Lighting, Tod};
use crate::kit::vehicle::{Group, VehicleLook};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f32::consts::{FRAC_PI_2, PI};

impl Layout {
    /// Lamps, trees, benches, bins, parked cars, signal heads; lamps also light the scene.
    pub(super) fn furniture(&mut self, rng: &mut ChaCha8Rng, cam: &Camera, light: &mut Lighting) {
        let (r0, r1) = self.road;
        // Sodium or LED; weaker at dusk, when the sky still lights the street.
        let power = if light.tod == Tod::Dusk { 0.4 } else { 0.85 };
        let lamp_colour = if rng.random_bool(0.5) {
            [1.1 * power, 0.75 * power, 0.35 * power]
        } else {
            [0.85 * power, 0.9 * power, 1.0 * power]
        };
        let reach = rng.random_range(6.0f32..9.0);
        // Lamps and trees at the kerbs.
        for (z, prob_tree) in [(r1 + 0.5, 0.55), (r0 - 0.5, 0.0)] {
            let kerbside = self.band_at(z).is_some_and(|b| {
                matches!(
                    b.surface,
                    Surface::Sidewalk | Surface::Grass | Surface::Plaza
                )
            });
            if !kerbside {
                continue;
            }
            let (x0, x1) = cam.visible_x(z);
            let mut x = x0 - rng.random_range(0.0f32..10.0);
            let spacing = rng.random_range(14.0f32..24.0);
            let trees = rng.random_bool(prob_tree);
            while x < x1 + 6.0 {
                if self.on_side_road(x, z, 1.0) {
                    x += spacing;
                    continue;
                }
                self.props.push(Prop {
                    x,
                    z,
                    kind: PropKind::Lamp,
                });
                light.lamps.push(Lamp {
                    x,
                    z,
                    colour: lamp_colour,
                    reach,
                });
                // Trees only where their crowns stay small in the image.
                if trees && cam.ppm(z) * 2.0 < 0.14 * cam.h {
                    let tx = x + spacing / 2.0;
                    if !self.on_side_road(tx, z, 2.0) {
                        self.props.push(Prop {
                            x: tx,
                            z,
                            kind: PropKind::Tree {
                                crown: rng.random_range(1.2f32..2.0),
                                tone: [
                                    rng.random_range(40.0f32..70.0),
                                    rng.random_range(80.0f32..115.0),
                                    rng.random_range(35.0f32..55.0),
                                ],
                            },
                        });
                    }
                }
                x += spacing;
            }
        }
        // Small furniture on pavements.
        let bands = self.bands.clone();
        for b in bands
            .iter()
            .filter(|b| matches!(b.surface, Surface::Sidewalk | Surface::Plaza))
        {
            let n = rng.random_range(0..=3);
            for _ in 0..n {
                let z = if b.z1 > r1 { b.z1 - 0.5 } else { b.z0 + 0.6 };
                let z = z.clamp(self.z_near + 0.3, self.z_far - 0.3);
                let (x0, x1) = cam.visible_x(z);
                let x = rng.random_range(x0..x1.max(x0 + 0.1));
                if self.on_side_road(x, z, 1.0) {
                    continue;
                }
                let kind = match rng.random_range(0..4u32) {
                    0 => PropKind::Bench,
                    1 => PropKind::Bin,
                    2 => PropKind::Bollard,
                    _ => PropKind::Planter,
                };
                self.props.push(Prop { x, z, kind });
            }
        }
        if self.kind == Kind::Plaza {
            let b = bands.iter().find(|b| b.surface == Surface::Plaza).copied();
            if let Some(b) = b {
                for _ in 0..rng.random_range(1..=3) {
                    // Towards the back, so they do not hide the square.
                    let lo = b.z0.max(self.z_near) + (b.z1 - b.z0.max(self.z_near)) * 0.5;
                    let z = rng.random_range(lo..(b.z1 - 0.8).max(lo + 0.1));
                    let (x0, x1) = cam.visible_x(z);
                    let x = rng.random_range(x0..x1.max(x0 + 0.1));
                    let kind = if rng.random_bool(0.5) || cam.ppm(z) * 2.0 > 0.14 * cam.h {
                        PropKind::Planter
                    } else {
                        PropKind::Tree {
                            crown: rng.random_range(1.0f32..1.8),
                            tone: [55.0, 105.0, 45.0],
                        }
                    };
                    self.props.push(Prop { x, z, kind });
                    if rng.random_bool(0.5) {
                        light.lamps.push(Lamp {
                            x: x + 2.0,
                            z,
                            colour: lamp_colour,
                            reach,
                        });
                        self.props.push(Prop {
                            x: x + 2.0,
                            z,
                            kind: PropKind::Lamp,
                        });
                    }
                }
            }
        }
        // Parked cars, nose in.
        for b in bands.iter().filter(|b| b.surface == Surface::Parking) {
            let z = (b.z0 + b.z1) / 2.0;
            let (x0, x1) = cam.visible_x(z);
            let mut x = (x0 / 2.6).floor() * 2.6 - 1.3;
            let facing_far = b.z0 >= r1;
            let occupancy = rng.random_range(0.4f32..0.9);
            while x < x1 + 3.0 {
                if rng.random_bool(f64::from(occupancy)) {
                    let mut look = VehicleLook::random(rng, false);
                    look.len = look.len.min(5.0);
                    let heading = if facing_far { FRAC_PI_2 } else { -FRAC_PI_2 };
                    let flip = if rng.random_bool(0.3) { PI } else { 0.0 };
                    self.props.push(Prop {
                        x: x + rng.random_range(-0.15f32..0.15),
                        z: z + rng.random_range(-0.2f32..0.2),
                        kind: PropKind::Parked {
                            look,
                            heading: heading + flip + rng.random_range(-0.06f32..0.06),
                        },
                    });
                }
                x += 2.6;
            }
        }
        if let Some((s0, s1)) = self.side {
            self.props.push(Prop {
                x: s1 + 1.2,
                z: r0 - 0.8,
                kind: PropKind::Signal { group: Group::Side },
            });
            self.props.push(Prop {
                x: s0 - 3.0,
                z: r0 - 0.8,
                kind: PropKind::Signal { group: Group::Main },
            });
            self.props.push(Prop {
                x: s1 + 3.0,
                z: r1 + 0.8,
                kind: PropKind::Signal { group: Group::Main },
            });
        }
    }
}

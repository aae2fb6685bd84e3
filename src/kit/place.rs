//! Where an incident's people come from and where it happens: planned entries into the scene,
//! the time a walker must enter to reach a point on cue, unit vectors, and the fallback spot
//! at the middle of the picture.

use super::person::{Person, Waypoint};
use super::scene::Scene;

/// A person who enters the scene at a planned time.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) at: f32,
    pub(super) person: Option<Person>,
    pub(super) index: Option<usize>,
}

impl Entry {
    pub(super) fn new(at: f32, person: Person) -> Self {
        Self {
            at,
            person: Some(person),
            index: None,
        }
    }

    /// Puts the person into the scene once their time has come.
    pub(super) fn admit(&mut self, t: f32, people: &mut Vec<Person>) {
        if t >= self.at
            && let Some(p) = self.person.take()
        {
            people.push(p);
            self.index = Some(people.len() - 1);
        }
    }
}

pub(super) fn unit(dx: f32, dz: f32) -> (f32, f32) {
    let l = (dx * dx + dz * dz).sqrt();
    if l < 1e-6 {
        (1.0, 0.0)
    } else {
        (dx / l, dz / l)
    }
}

/// A walker on `route` who reaches `target` (a point of the route) at time `when`: returns the
/// time they must enter.
pub(super) fn entry_time(route: &[Waypoint], target: usize, speed: f32, when: f32) -> f32 {
    let mut d = 0.0;
    for w in route.windows(2).take(target) {
        d += ((w[1].x - w[0].x).powi(2) + (w[1].z - w[0].z).powi(2)).sqrt();
    }
    when - d / speed.max(0.1)
}

/// The ground at the middle of the image, three quarters down: where to put an incident when
/// the place offers no better spot.
pub(super) fn centre_spot(s: &Scene) -> (f32, f32) {
    let z = s
        .cam
        .z_at_row(s.cam.h * 0.75)
        .unwrap_or(s.layout.z_near + 2.0);
    (s.cam.x_at(s.cam.w / 2.0, z), z)
}

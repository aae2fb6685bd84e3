use super::*;

#[test]
fn path_walks_its_polyline() {
    let p = Path::new(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]);
    assert!((p.len() - 20.0).abs() < 1e-4);
    let (x, z, h) = p.at(15.0);
    assert!((x - 10.0).abs() < 1e-4 && (z - 5.0).abs() < 1e-4);
    assert!((h - std::f32::consts::FRAC_PI_2).abs() < 1e-4);
    assert_eq!(Path::new(vec![]).at(3.0).2, 0.0);
}

#[test]
fn hull_of_a_box_is_its_outline() {
    let pts = [
        (0.0, 0.0),
        (1.0, 0.0),
        (1.0, 1.0),
        (0.0, 1.0),
        (0.5, 0.5),
        (0.2, 0.3),
        (0.7, 0.1),
        (0.9, 0.9),
    ];
    let (_, n) = hull(pts);
    assert_eq!(n, 4);
}

#[test]
fn a_car_stops_behind_an_obstacle() {
    let paths = vec![Path::new(vec![(0.0, 10.0), (200.0, 10.0)])];
    let look = VehicleLook {
        model: Model::Car,
        len: 4.5,
        wid: 1.8,
        body: [200, 0, 0],
        second: [200, 0, 0],
    };
    let mut v = Vehicle::on_path(look, 0, &paths, 10.0);
    let wall = Obstacle {
        x: 60.0,
        z: 10.0,
        heading: 0.0,
        half_len: 2.0,
        half_wid: 1.0,
        vx: 0.0,
        vz: 0.0,
    };
    for _ in 0..600 {
        let obs = [v.obstacle(), wall];
        v.step(1.0 / 30.0, &paths, &obs, 0, |_| false);
    }
    assert!(v.v < 0.1, "speed {}", v.v);
    assert!(v.x < 58.0 - 2.25 && v.x > 45.0, "x {}", v.x);
}

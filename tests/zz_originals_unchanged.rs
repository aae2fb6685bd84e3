#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The shared footage every other test reads — scoring, previewing, exporting — still has the
//! SHA-256 it was published with. Cargo runs test binaries in name order, so this one (`zz_`)
//! runs after the rest of the suite; and since the expected hashes are fixed here, a change made
//! by any earlier run would be caught too.

mod common;

const ORIGINALS: &[(&str, &str)] = &[
    (
        "bottle-detection.mp4",
        "d52ba94aedf8a923c342fe9ea1d2bd85f712c4cc0f49a6de1bac43eebe3a48ff",
    ),
    (
        "car-detection.mp4",
        "d31e0ebf194cc16e50eea784e7c3b0b1bb7976a4fb9b3fec26cb92a6704cca34",
    ),
    (
        "one-by-one-person-detection.mp4",
        "a5964aa259099a482a8b360ffc2c57b5a30f84d5919236a4dad01f8e929ac07c",
    ),
    (
        "people-detection.gif",
        "fa63d51a370464652cb902f73de8940292c8b4561c595b92fe252ad23be0f1d9",
    ),
    (
        "store-aisle-detection.gif",
        "8f29af471b7df06c4eda38b72c22a86ee4779dfeff91c750b4f8087441ddb4d3",
    ),
    (
        "worker-zone-detection.gif",
        "258a1df000dfdb488f2992ecc02ed262e7ecf03f638c3f5d1736b26718783447",
    ),
];

#[test]
fn originals_are_bit_identical_after_the_whole_suite() {
    for (name, sha) in ORIGINALS {
        assert_eq!(
            common::sha256(&common::footage(name)),
            *sha,
            "{name} changed"
        );
    }
}

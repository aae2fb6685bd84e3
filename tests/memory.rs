#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Memory that must not grow with the footage read: its own test binary, so that no other test
//! allocates in the same process while it measures.

mod common;

use common::*;

/// Resident memory of this process, from `/proc/self/status`, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn reading_the_frame_table_keeps_no_packets() {
    // The frame table reads every packet of a file (the player, every export). Reading into
    // one packet over and over kept them all: 2.3 GB for 8 h of footage, 30 × this 3.3 MB
    // file's packets here.
    let file = footage("one-by-one-person-detection.mp4");
    let bytes = std::fs::metadata(&file).unwrap().len() / 1024;
    let first = vigil::video::FrameTable::read(&file).unwrap();
    let before = rss_kib();
    for _ in 0..30 {
        assert_eq!(vigil::video::FrameTable::read(&file).unwrap(), first);
    }
    let grown = rss_kib().saturating_sub(before);
    assert!(
        grown < 3 * bytes,
        "reading a {bytes} KiB file's frame table 30 times grew memory by {grown} KiB"
    );
}

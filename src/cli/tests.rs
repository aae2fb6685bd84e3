use super::parse_time;

/// clap's own consistency checks (conflicts naming real flags, no two flags alike), and
/// the flattened pack flags reaching every command that runs the network.
#[test]
fn the_command_line_is_consistent() {
    use clap::{CommandFactory, Parser};
    super::Cli::command().debug_assert();
    for argv in [
        &[
            "vigil",
            "score",
            "--model",
            "m",
            "--device",
            "cpu",
            "--cache-dir",
            "c",
            "f.mp4",
        ][..],
        &["vigil", "open", "--model", "m", "--cache-dir", "c"],
        &[
            "vigil",
            "bank",
            "add",
            "--model",
            "m",
            "--cache-dir",
            "c",
            "l.txt",
        ],
        &[
            "vigil",
            "features",
            "--labels",
            "l",
            "-o",
            "o",
            "--model",
            "m",
            "--cache-dir",
            "c",
        ],
    ] {
        assert!(super::Cli::try_parse_from(argv).is_ok(), "{argv:?}");
    }
    assert!(
        super::Cli::try_parse_from(["vigil", "score", "--no-cache", "--cache-dir", "c", "f"])
            .is_err()
    );
}

#[test]
fn times_in_the_forms_people_type() {
    assert_eq!(parse_time("75.5"), Ok(75.5));
    assert_eq!(parse_time("1:15.5"), Ok(75.5));
    assert_eq!(parse_time("0:01:15.5"), Ok(75.5));
    assert_eq!(parse_time("01:02:03"), Ok(3723.0));
    assert!(parse_time("1:75").is_err());
    assert!(parse_time("-3").is_err());
    assert!(parse_time("a:b").is_err());
    assert!(parse_time("1:2:3:4").is_err());
}

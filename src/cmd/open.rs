//! `vigil open` (and `vigil` alone): the review app, or a clear line where it was not built.

use crate::EXIT_OTHER;
use crate::cli::OpenArgs;

/// The review app. Errors inside the app are shown in the window; only a window that cannot
/// open at all (no display) ends up here.
#[cfg(feature = "gui")]
pub(crate) fn open(args: OpenArgs) -> u8 {
    use crate::{EXIT_MODEL, cli};
    use vigil::gui::{AppConfig, recent::RecentFiles};
    use vigil::model;
    use vigil::pipeline::ScoreOptions;
    // An unknown scorer is a command-line mistake: say so before any window opens.
    if let Some(kind) = &args.scorer
        && let Err(e) = args
            .run
            .pack()
            .and_then(|p| p.scorer(Some(kind)).map(|_| ()))
    {
        eprintln!("vigil: error: {e}");
        return EXIT_MODEL;
    }
    // The app scores by its setting; `--cascade` overrides it for this session (saved only
    // if the analyst saves the settings).
    let mut settings = vigil::case::Settings::load();
    if let Some(c) = args.cascade {
        settings.cascade = c == cli::OnOff::On;
    }
    let config = AppConfig {
        files: args.files,
        case_path: args.case,
        model_dir: args
            .run
            .model
            .clone()
            .unwrap_or_else(model::default_pack_dir),
        score_options: ScoreOptions {
            scorer: args.scorer,
            ..args.run.score_options()
        },
        recent_path: RecentFiles::default_path(),
        autosave_path: vigil::gui::VigilApp::default_autosave_path(),
        settings,
        settings_persist: true,
        signing_key: vigil::case::ExportSigner::default_path().ok(),
    };
    match vigil::gui::run(config) {
        Ok(()) => 0,
        Err(e) => {
            // eframe's error is neither Send nor std::error::Error, so no anyhow context here.
            eprintln!("vigil: error: cannot open the review window (is there a display?): {e}");
            EXIT_OTHER
        }
    }
}

/// Built without the `gui` feature: say so.
#[cfg(not(feature = "gui"))]
pub(crate) fn open(_args: OpenArgs) -> u8 {
    eprintln!(
        "vigil: error: this build has no review app (built without the `gui` feature); use `vigil score`"
    );
    EXIT_OTHER
}

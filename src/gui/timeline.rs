//! The score timeline: per-clip scores against time, the threshold, flagged spans, marks and
//! the play cursor, with zoom and pan under the app's control.
//!
//! Level of detail: however many clips the footage has, the plot gets at most two points per
//! pixel column (the min and max of the clips in it), so 24 hours of scores (162 000 clips)
//! draw as fast as a minute.

use crate::base::format_hms;
use egui_plot::{FilledArea, HLine, Line, Plot, PlotBounds, PlotPoints, Polygon, VLine};

/// The visible time range and its limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineView {
    /// Visible start, seconds.
    pub x0: f64,
    /// Visible end, seconds.
    pub x1: f64,
}

impl TimelineView {
    /// The whole footage.
    pub fn fit(duration_s: f64) -> Self {
        Self {
            x0: 0.0,
            x1: duration_s.max(1.0),
        }
    }

    /// Zooms by `factor` (< 1 zooms in) around `center`, keeping within `[0, duration]` and at
    /// least two seconds wide.
    pub fn zoom(&mut self, factor: f64, center: f64, duration_s: f64) {
        let width = ((self.x1 - self.x0) * factor).clamp(2.0, duration_s.max(2.0));
        let rel = if self.x1 > self.x0 {
            ((center - self.x0) / (self.x1 - self.x0)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        self.x0 = center - rel * width;
        self.x1 = self.x0 + width;
        self.clamp(duration_s);
    }

    /// Moves by `delta_s`, keeping within the footage.
    pub fn pan(&mut self, delta_s: f64, duration_s: f64) {
        self.x0 += delta_s;
        self.x1 += delta_s;
        self.clamp(duration_s);
    }

    /// Scrolls so that `t` is visible, keeping the zoom.
    pub fn follow(&mut self, t: f64, duration_s: f64) {
        let w = self.x1 - self.x0;
        if t < self.x0 || t > self.x1 {
            self.x0 = t - 0.1 * w;
            self.x1 = self.x0 + w;
            self.clamp(duration_s);
        }
    }

    fn clamp(&mut self, duration_s: f64) {
        let w = (self.x1 - self.x0).min(duration_s.max(1.0));
        if self.x0 < 0.0 {
            self.x0 = 0.0;
        }
        if self.x0 + w > duration_s.max(1.0) {
            self.x0 = (duration_s.max(1.0) - w).max(0.0);
        }
        self.x1 = self.x0 + w;
    }
}

/// Scores reduced to what a plot of `columns` pixels can show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lod {
    /// Times of the points.
    pub xs: Vec<f64>,
    /// Lowest score at each point.
    pub mins: Vec<f64>,
    /// Highest score at each point.
    pub maxs: Vec<f64>,
}

/// Reduces clips (sorted by start; `starts`, `ends`, `scores` index-aligned) to the range
/// `[x0, x1]` at `columns` buckets. Zoomed in far enough that clips are wider than two pixels,
/// each clip becomes a flat step from its start to its end; otherwise each pixel column gets
/// the min and max of the clips whose middle falls in it.
pub fn lod(starts: &[f64], ends: &[f64], scores: &[f32], x0: f64, x1: f64, columns: usize) -> Lod {
    let mut out = Lod::default();
    let columns = columns.max(1);
    if x1 <= x0 || starts.is_empty() {
        return out;
    }
    let first = ends.partition_point(|&e| e < x0);
    let last = starts.partition_point(|&s| s <= x1);
    if first >= last {
        return out;
    }
    let visible = last - first;
    if visible * 2 <= columns {
        for i in first..last {
            let s = f64::from(scores[i]);
            for x in [starts[i], ends[i]] {
                out.xs.push(x);
                out.mins.push(s);
                out.maxs.push(s);
            }
        }
        return out;
    }
    let width = (x1 - x0) / columns as f64;
    let mut bucket = usize::MAX;
    for i in first..last {
        let mid = 0.5 * (starts[i] + ends[i]);
        let b = (((mid - x0) / width).floor().max(0.0) as usize).min(columns - 1);
        let s = f64::from(scores[i]);
        if b != bucket {
            bucket = b;
            out.xs.push(x0 + (b as f64 + 0.5) * width);
            out.mins.push(s);
            out.maxs.push(s);
        } else if let (Some(lo), Some(hi)) = (out.mins.last_mut(), out.maxs.last_mut()) {
            *lo = lo.min(s);
            *hi = hi.max(s);
        }
    }
    out
}

/// Spans (start, end) visible in `[x0, x1]`, merged where they are closer than `min_gap`
/// seconds (about a pixel), so that thousands of spans cost no more than the pixels they cover.
pub fn visible_spans(spans: &[(f64, f64)], x0: f64, x1: f64, min_gap: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut sorted: Vec<(f64, f64)> = spans
        .iter()
        .copied()
        .filter(|&(a, b)| b >= x0 && a <= x1)
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (a, b) in sorted {
        match out.last_mut() {
            Some(last) if a - last.1 <= min_gap => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Everything the timeline draws, borrowed from the app for one frame.
pub struct TimelineInput<'a> {
    /// Clip starts (seconds), sorted.
    pub starts: &'a [f64],
    /// Clip ends (seconds).
    pub ends: &'a [f64],
    /// Clip scores.
    pub scores: &'a [f32],
    /// Footage duration.
    pub duration_s: f64,
    /// Flagged spans (start, end).
    pub flagged: &'a [(f64, f64)],
    /// Marks (start, end, is_incident).
    pub marks: &'a [(f64, f64, bool)],
    /// Recording gaps (no frames): shaded grey over the whole height.
    pub gaps: &'a [(f64, f64)],
    /// Regions decoded with damage: a violet strip along the bottom.
    pub damaged: &'a [(f64, f64)],
    /// Play cursor.
    pub cursor_s: f64,
    /// Threshold line.
    pub threshold: f32,
}

/// What the user did on the timeline this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimelineAction {
    /// Clicked or dragged at this time: seek there.
    Seek(f64),
    /// Hovering at this clip index.
    Hover(usize),
}

/// Draws the timeline and returns what the user did. Zoom (Ctrl + wheel, or `+`/`-` handled by
/// the app) and pan (wheel) update `view`; click and drag seek.
pub fn timeline_ui(
    ui: &mut egui::Ui,
    view: &mut TimelineView,
    input: &TimelineInput<'_>,
) -> Option<TimelineAction> {
    let height = ui.available_height().max(160.0);
    let width_px = ui.available_width().max(50.0);
    let columns = width_px as usize;
    let reduced = lod(
        input.starts,
        input.ends,
        input.scores,
        view.x0,
        view.x1,
        columns,
    );
    let px_s = (view.x1 - view.x0) / f64::from(width_px);
    let flagged = visible_spans(input.flagged, view.x0, view.x1, px_s);
    let (x0, x1) = (view.x0, view.x1);

    let response = Plot::new("score-timeline")
        .height(height)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(false)
        .show_y(false)
        .y_axis_min_width(28.0)
        .x_axis_formatter(|mark, _| short_hms(mark.value))
        .y_axis_formatter(|mark, _| format!("{:.1}", mark.value))
        .label_formatter(|_| None)
        .show(ui, |plot_ui| {
            plot_ui.set_plot_bounds(PlotBounds::from_min_max([x0, -0.02], [x1, 1.05]));
            for &(a, b) in &flagged {
                plot_ui.polygon(band("flagged", a, b, -0.02, 1.05, FLAGGED));
            }
            // Gaps and damage are drawn at least a pixel wide: one damaged frame in an hour
            // must still be seen.
            for (a, b) in visible_spans(input.gaps, x0, x1, px_s) {
                plot_ui.polygon(band("gap", a, b.max(a + px_s), -0.02, 1.05, GAP));
            }
            for (a, b) in visible_spans(input.damaged, x0, x1, px_s) {
                plot_ui.polygon(band(
                    "damaged",
                    a,
                    b.max(a + 2.0 * px_s),
                    -0.02,
                    0.05,
                    DAMAGED,
                ));
            }
            for &(a, b, incident) in input.marks {
                let color = if incident { INCIDENT } else { FALSE_ALARM };
                plot_ui.polygon(band("mark", a, b, 1.0, 1.05, color));
            }
            if !reduced.xs.is_empty() {
                plot_ui.add(
                    FilledArea::new("score range", &reduced.xs, &reduced.mins, &reduced.maxs)
                        .fill_color(egui::Color32::from_rgba_unmultiplied(120, 170, 255, 90)),
                );
                let points: Vec<[f64; 2]> = reduced
                    .xs
                    .iter()
                    .zip(&reduced.maxs)
                    .map(|(&x, &y)| [x, y])
                    .collect();
                plot_ui.line(
                    Line::new("score", PlotPoints::from(points))
                        .color(egui::Color32::from_rgb(90, 150, 255))
                        .width(1.5)
                        .allow_hover(false),
                );
            }
            plot_ui.add(
                HLine::new("threshold", f64::from(input.threshold))
                    .color(egui::Color32::from_rgb(230, 90, 40))
                    .width(1.0),
            );
            plot_ui.add(
                VLine::new("cursor", input.cursor_s)
                    .color(ui_cursor_color())
                    .width(1.5),
            );
            plot_ui.pointer_coordinate()
        });

    let resp = &response.response;
    let pointer = response.inner;
    let mut action = None;
    if resp.hovered() {
        let (scroll, zoom_mod) = ui.input(|i| (i.smooth_scroll_delta, i.modifiers.command));
        let duration = input.duration_s;
        if let Some(p) = pointer {
            if zoom_mod && scroll.y != 0.0 {
                view.zoom((-f64::from(scroll.y) / 200.0).exp(), p.x, duration);
            } else if scroll.x != 0.0 || scroll.y != 0.0 {
                let dx = if scroll.x != 0.0 { scroll.x } else { scroll.y };
                view.pan(-f64::from(dx) * px_s, duration);
            }
            let idx = input
                .starts
                .partition_point(|&s| s <= p.x)
                .saturating_sub(1);
            if idx < input.scores.len() && p.x <= input.ends[idx] {
                action = Some(TimelineAction::Hover(idx));
            }
        }
    }
    if (resp.clicked() || resp.dragged())
        && let Some(p) = pointer
    {
        action = Some(TimelineAction::Seek(p.x.clamp(0.0, input.duration_s)));
    }
    action
}

const FLAGGED: egui::Color32 = egui::Color32::from_rgba_premultiplied(46, 18, 8, 40);
const INCIDENT: egui::Color32 = egui::Color32::from_rgba_premultiplied(180, 30, 30, 200);
const GAP: egui::Color32 = egui::Color32::from_rgba_premultiplied(60, 60, 60, 110);
const DAMAGED: egui::Color32 = egui::Color32::from_rgba_premultiplied(150, 60, 190, 220);
const FALSE_ALARM: egui::Color32 = egui::Color32::from_rgba_premultiplied(50, 120, 200, 200);

/// A filled rectangle from `a` to `b` in time and `lo` to `hi` in score.
fn band(name: &str, a: f64, b: f64, lo: f64, hi: f64, color: egui::Color32) -> Polygon<'static> {
    Polygon::new(
        name,
        PlotPoints::from(vec![[a, lo], [b, lo], [b, hi], [a, hi]]),
    )
    .fill_color(color)
    .stroke(egui::Stroke::NONE)
    .allow_hover(false)
}

fn ui_cursor_color() -> egui::Color32 {
    egui::Color32::from_rgb(250, 220, 60)
}

/// `h:mm:ss` for axis labels (milliseconds would crowd the axis).
fn short_hms(t: f64) -> String {
    if t < 0.0 {
        return String::new();
    }
    let full = format_hms(t);
    // "hh:mm:ss.mmm" → drop the milliseconds unless the axis is zoomed below a second.
    if (t - t.round()).abs() < 1e-6 {
        full[..8].to_string()
    } else {
        full[..10].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clips(n: usize, clip_s: f64) -> (Vec<f64>, Vec<f64>, Vec<f32>) {
        let starts: Vec<f64> = (0..n).map(|i| i as f64 * clip_s).collect();
        let ends: Vec<f64> = starts.iter().map(|s| s + clip_s).collect();
        let scores: Vec<f32> = (0..n).map(|i| ((i * 37) % 100) as f32 / 100.0).collect();
        (starts, ends, scores)
    }

    #[test]
    fn a_day_of_clips_reduces_to_the_pixel_columns() {
        let (s, e, sc) = clips(162_000, 16.0 / 30.0);
        let day = 162_000.0 * 16.0 / 30.0;
        let l = lod(&s, &e, &sc, 0.0, day, 1600);
        assert!(l.xs.len() <= 1600, "{}", l.xs.len());
        // Every bucket still shows the extremes of the clips inside it.
        assert!(l.maxs.iter().all(|&m| m >= 0.9));
        assert!(l.mins.iter().all(|&m| m <= 0.1));
    }

    #[test]
    fn zoomed_in_clips_are_steps() {
        let (s, e, sc) = clips(100, 0.5);
        let l = lod(&s, &e, &sc, 10.0, 12.0, 800);
        // Clips 19..=24 touch [10, 12].
        assert_eq!(l.xs.first(), Some(&9.5));
        assert_eq!(l.xs.len(), 2 * 6);
        assert_eq!(l.maxs[0], l.maxs[1]);
    }

    #[test]
    fn spans_closer_than_a_pixel_merge() {
        let spans = [(0.0, 1.0), (1.05, 2.0), (5.0, 6.0), (100.0, 101.0)];
        assert_eq!(
            visible_spans(&spans, 0.0, 10.0, 0.1),
            vec![(0.0, 2.0), (5.0, 6.0)]
        );
    }

    #[test]
    fn view_zoom_and_pan_stay_inside_the_footage() {
        let mut v = TimelineView::fit(100.0);
        v.zoom(0.5, 100.0, 100.0);
        assert_eq!((v.x0, v.x1), (50.0, 100.0));
        v.pan(30.0, 100.0);
        assert_eq!((v.x0, v.x1), (50.0, 100.0));
        v.zoom(0.001, 75.0, 100.0);
        assert!(
            (v.x1 - v.x0 - 2.0).abs() < 1e-9,
            "at least two seconds wide"
        );
        v.follow(10.0, 100.0);
        assert!(v.x0 <= 10.0 && v.x1 >= 10.0);
        v.zoom(1000.0, 0.0, 100.0);
        assert_eq!((v.x0, v.x1), (0.0, 100.0));
    }
}

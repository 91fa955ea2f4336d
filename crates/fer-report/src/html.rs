//! The page `index.html`: readable offline (charts and images beside it, relative links, inline
//! CSS), with the published and reproduced tables, per-data-set tables, every chart, the
//! generated summary, what is missing, the per-job table and provenance.

use std::fmt::Write as _;

use polars::prelude::{AnyValue, BooleanChunked, DataFrame};

use super::collect::Missing;
use super::figures::{Drawn, Section};
use super::gallery::{Gallery, GalleryImage};
use super::narrative::{pct, thousands};
use super::provenance::{seed_ranges, RunInfo};
use super::published::Published;
use super::tables::{strings, SummaryRow, Tables};

/// Everything the page shows.
pub(crate) struct Page<'a> {
    pub title: &'a str,
    pub run: &'a RunInfo,
    pub summary: &'a [String],
    pub tables: &'a Tables,
    pub rows: &'a [SummaryRow],
    pub best: &'a [SummaryRow],
    pub charts: &'a [Drawn],
    pub gallery: &'a Gallery,
    pub missing: &'a [Missing],
    pub published: &'a Published,
    pub evaluations: usize,
    /// The efficiency analysis's section (empty when it is off).
    pub efficiency: &'a str,
    /// The domain-shift analysis's section (empty when it is off).
    pub domain: &'a str,
    /// Further sections, rendered by their modules (data efficiency), shown after distillation.
    pub extra: &'a [String],
    /// The analyses switched on: the paired comparisons and distillation sections need theirs.
    pub analyses: &'a fer_core::spec::Analyses,
}

/// Escapes text for HTML content and attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ink: #222; --muted: #666; --line: #ddd; --band: #f6f7f9; --accent: #4e79a7; --warn: #b4542c; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); margin: 0; line-height: 1.45; background: #fff; }
main { max-width: 1440px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.8em; margin: 0 0 4px; }
h2 { font-size: 1.35em; margin: 40px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.1em; margin: 24px 0 8px; }
p.meta, .muted { color: var(--muted); }
nav { margin: 12px 0 8px; font-size: 0.95em; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
ul.summary li { margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top;
         white-space: nowrap; }
td.wrap { white-space: normal; min-width: 14em; }
td.wrap-s { white-space: normal; min-width: 6em; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.hash, span.hash { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 0.92em; }
.scroll { overflow-x: auto; max-width: 100%; }
.pair { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
.pair > div { flex: 1 1 480px; min-width: 0; }
figure { margin: 12px 0 24px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 4px; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.grid figure { flex: 0 1 auto; max-width: 100%; }
.grid.samples figure img { max-width: 420px; }
.grid.two figure { flex: 0 1 calc(50% - 8px); }
.warn { border-left: 4px solid var(--warn); background: #fdf3ee; padding: 8px 16px; margin: 16px 0; }
.note { border-left: 4px solid #bbb; background: var(--band); padding: 6px 14px; margin: 10px 0; color: #444; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; }
dl.prov dt { font-weight: 600; }
dl.prov dd { margin: 0; }
details > summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
"#;

/// Records, on load, whether every image decoded and whether any load error happened, in
/// `#img-check` (read by the headless-browser test; harmless to readers).
const IMAGE_CHECK: &str = r#"
(function () {
  var errors = [];
  var consoleError = console.error;
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, String).join(' '));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener('error', function (e) {
    var t = e.target;
    errors.push(t && t.getAttribute && t.getAttribute('src') ? 'failed to load ' + t.getAttribute('src') : String(e.message));
  }, true);
  window.addEventListener('load', function () {
    var imgs = Array.prototype.slice.call(document.images);
    var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                     .map(function (i) { return i.getAttribute('src'); });
    var d = document.getElementById('img-check');
    d.setAttribute('data-images', String(imgs.length));
    d.setAttribute('data-broken', broken.join(' '));
    d.setAttribute('data-errors', errors.join(' | '));
    d.setAttribute('data-ok', broken.length === 0 && errors.length === 0 ? 'true' : 'false');
  });
})();
"#;

/// The whole page.
pub(crate) fn render(p: &Page) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         <script>{IMAGE_CHECK}</script>\n</head>\n<body>\n<main>\n",
        esc(p.title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(p.title));
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} finished evaluation{} from store <span class=\"hash\">{}</span>; generated {} by \
         fer-pipeline {}.</p>",
        p.evaluations,
        if p.evaluations == 1 { "" } else { "s" },
        esc(&p.run.store),
        esc(&p.run.generated_at),
        esc(&p.run.crate_version)
    );
    let efficiency = if p.efficiency.is_empty() { "" } else { "<a href=\"#efficiency\">Efficiency</a>" };
    let domain = if p.domain.is_empty() { "" } else { "<a href=\"#domain-shift\">Domain shift</a>" };
    let paired = if p.analyses.uncertainty { "<a href=\"#paired\">Paired comparisons</a>" } else { "" };
    let kd = if p.analyses.distillation { "<a href=\"#kd\">Distillation</a>" } else { "" };
    // The further sections' own headings (data efficiency, robustness, calibration).
    let extra: String =
        p.extra.iter().filter_map(|s| heading(s)).map(|(id, title)| format!("<a href=\"#{id}\">{title}</a>")).collect();
    h.push_str(&format!(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#published\">Published vs reproduced</a>\
         <a href=\"#datasets\">Per data set</a><a href=\"#charts\">Charts</a>{paired}<a href=\"#curves\">Learning curves</a>\
         <a href=\"#confusion\">Confusion</a>{efficiency}{domain}{kd}{extra}<a href=\"#saliency\">Saliency</a>\
         <a href=\"#samples\">Samples</a><a href=\"#jobs\">Jobs</a><a href=\"#provenance\">Provenance</a></nav>\n",
    ));

    section_summary(&mut h, p);
    section_published(&mut h, p);
    section_datasets(&mut h, p);
    h.push_str("<h2 id=\"charts\">Accuracy and cost</h2>\n");
    charts(&mut h, p, &[Section::Accuracy, Section::Cost], "No finished evaluation to chart.");
    if p.analyses.uncertainty {
        section_paired(&mut h, p);
    }
    h.push_str("<h2 id=\"curves\">Learning curves</h2>\n");
    charts(&mut h, p, &[Section::Curves], "No learning curves: no finished train job behind the evaluations.");
    h.push_str("<h2 id=\"confusion\">Confusion matrices</h2>\n");
    h.push_str("<p class=\"muted\">Test split, each model's best setting, counts summed over seeds and folds; each row shows how the images of one true class were classified.</p>\n");
    charts(&mut h, p, &[Section::Confusion], "No confusion matrices.");
    h.push_str(p.efficiency);
    h.push_str(p.domain);
    if p.analyses.distillation {
        section_kd(&mut h, p);
    }
    p.extra.iter().for_each(|s| h.push_str(s));
    section_gallery(&mut h, p);
    section_jobs(&mut h, p);
    section_provenance(&mut h, p);
    h.push_str("<div id=\"img-check\" hidden data-ok=\"pending\"></div>\n</main>\n</body>\n</html>\n");
    h
}

fn section_summary(h: &mut String, p: &Page) {
    h.push_str("<h2 id=\"summary\">Summary</h2>\n<ul class=\"summary\">\n");
    for s in p.summary {
        let _ = writeln!(h, "<li>{}</li>", esc(s));
    }
    h.push_str("</ul>\n");
    if !p.missing.is_empty() || !p.gallery.skipped.is_empty() {
        let n = p.missing.len() + p.gallery.skipped.len();
        let _ = writeln!(
            h,
            "<div class=\"warn\"><strong>Partial report:</strong> {n} item{} of the scope could not be used.\n\
             <table><thead><tr><th>entry</th><th>job</th><th>why</th></tr></thead><tbody>",
            if n == 1 { "" } else { "s" }
        );
        for m in p.missing.iter().chain(&p.gallery.skipped) {
            let _ = writeln!(
                h,
                "<tr><td class=\"hash\">{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
                esc(&m.id),
                esc(&m.what),
                esc(&m.why)
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
}

fn section_published(h: &mut String, p: &Page) {
    let pb = p.published;
    h.push_str("<h2 id=\"published\">Published vs reproduced</h2>\n<div class=\"pair\">\n<div>\n<h3>Published</h3>\n");
    h.push_str("<div class=\"scroll\"><table><thead><tr><th>data set</th><th>model</th><th class=\"num\">accuracy</th><th>source</th><th>protocol</th></tr></thead><tbody>\n");
    let mut figs: Vec<_> = pb.figures.iter().collect();
    figs.sort_by(|a, b| (&a.dataset, &a.model, &a.source).cmp(&(&b.dataset, &b.model, &b.source)));
    for f in figs {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{:.2} %</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td></tr>",
            esc(pb.dataset_name(&f.dataset)),
            esc(pb.model_name(&f.model)),
            f.accuracy,
            esc(pb.source_name(&f.source)),
            esc(&f.split)
        );
    }
    h.push_str("</tbody></table></div>\n</div>\n<div>\n<h3>Reproduced here</h3>\n");
    if p.best.is_empty() {
        h.push_str("<p class=\"note\">No finished evaluation yet.</p>\n");
    } else {
        h.push_str("<div class=\"scroll\"><table><thead><tr><th>data set</th><th>model</th><th>setting</th><th class=\"num\">validation</th><th class=\"num\">test accuracy</th><th class=\"num\">runs</th><th>protocol</th></tr></thead><tbody>\n");
        for r in p.best {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"wrap-s\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"wrap\">{}</td></tr>",
                esc(pb.dataset_name(&r.dataset)),
                esc(&r.model),
                esc(&r.setting),
                r.val_accuracy_mean.map(pct).unwrap_or_else(|| "not recorded".into()),
                mean_std_ci(r.accuracy_mean, r.accuracy_std, r.accuracy_ci),
                runs_cell(r),
                esc(if r.protocol_description.is_empty() { &r.protocol } else { &r.protocol_description })
            );
        }
        h.push_str(
            "</tbody></table></div>\n<p class=\"muted\">Best setting per model and data set, chosen by mean \
             <em>validation</em> accuracy (never by test accuracy); its test accuracy is shown as mean ± std over \
             every run it pools (seeds, and folds under cross-validation), with its {CI_NOTE}</p>\n",
        );
    }
    h.push_str("</div>\n</div>\n<h3>Side by side, with the difference</h3>\n");
    h.push_str("<p class=\"muted\">Each published figure joined with the reproduced mean of the same architecture and data set \
        (each model's best setting; every setting is in <a href=\"tables/published_vs_reproduced.csv\">published_vs_reproduced.csv</a>), \
        with the protocol of each side: where <code>same_protocol</code> is false the figures were obtained on different \
        splits (e.g. a random, subject-dependent split against subject-independent folds) and are not directly comparable. \
        Accuracy in %, difference in percentage points; an empty side means no counterpart.</p>\n");
    match best_only(&p.tables.published, p.best) {
        Some(df) => frame_table(h, &df, &[]),
        None => frame_table(h, &p.tables.published, &[]),
    }
}

/// The rows of the published-vs-reproduced table whose reproduced side is a best setting (or
/// empty).
fn best_only(df: &DataFrame, best: &[SummaryRow]) -> Option<DataFrame> {
    let (d, m, s) = (strings(df, "dataset").ok()?, strings(df, "model").ok()?, strings(df, "setting").ok()?);
    let keep: BooleanChunked = (0..df.height())
        .map(|i| m[i].is_empty() || best.iter().any(|r| r.dataset == d[i] && r.model == m[i] && r.setting == s[i]))
        .collect();
    df.filter(&keep).ok()
}

/// `30 (3 seeds x 10 folds)`, or the number of runs.
fn runs_cell(r: &SummaryRow) -> String {
    if r.folds > 1 {
        format!("{} ({} seed{} x {} folds)", r.n, r.seeds.max(1), if r.seeds > 1 { "s" } else { "" }, r.folds)
    } else {
        r.n.to_string()
    }
}

fn model_cell(r: &SummaryRow) -> String {
    if r.model == r.arch {
        r.model.clone()
    } else {
        format!("{} ({})", r.model, r.arch)
    }
}

/// What the bracketed intervals are.
const CI_NOTE: &str = "95 % confidence interval in brackets: a Student-t interval over the runs (seeds x folds) \
    where there are two or more, otherwise (one run) a percentile bootstrap over that run's test images (1,000 \
    resamples, fixed seed); the summary table's <code>ci_method</code> says which.";

/// `44.0 % ± 1.2 [41.1, 46.9]`.
fn mean_std_ci(mean: f64, std: Option<f64>, ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((lo, hi)) => format!("{} [{:.1}, {:.1}]", mean_std(mean, std), lo * 100.0, hi * 100.0),
        None => mean_std(mean, std),
    }
}

fn mean_std(mean: f64, std: Option<f64>) -> String {
    match std {
        Some(s) if s.is_finite() => format!("{} ± {:.1}", pct(mean), s * 100.0),
        _ => pct(mean),
    }
}

fn section_datasets(h: &mut String, p: &Page) {
    h.push_str("<h2 id=\"datasets\">Results per data set</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">Mean ± std over seeds (and folds) of every model and setting, with the {CI_NOTE} \
         Latency is the median per call on the evaluation device.</p>"
    );
    if p.rows.is_empty() {
        h.push_str("<p class=\"note\">No finished evaluation yet.</p>\n");
        return;
    }
    let mut datasets: Vec<&str> = p.rows.iter().map(|r| r.dataset.as_str()).collect();
    datasets.dedup();
    for d in datasets {
        let _ = writeln!(h, "<h3>{}</h3>\n<div class=\"scroll\"><table><thead><tr><th>model</th><th>setting</th>\
            <th class=\"num\">runs</th><th class=\"num\">accuracy</th><th class=\"num\">macro-F1</th>\
            <th class=\"num\">parameters</th><th class=\"num\">latency b1 (ms)</th><th class=\"num\">latency b64 (ms)</th>\
            <th class=\"num\">training (s)</th></tr></thead><tbody>", esc(p.published.dataset_name(d)));
        for r in p.rows.iter().filter(|r| r.dataset == d) {
            let mut f1 = match r.macro_f1_std {
                Some(s) if s.is_finite() => format!("{:.3} ± {:.3}", r.macro_f1_mean, s),
                _ => format!("{:.3}", r.macro_f1_mean),
            };
            if let Some((lo, hi)) = r.macro_f1_ci {
                f1.push_str(&format!(" [{lo:.3}, {hi:.3}]"));
            }
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{f1}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&model_cell(r)),
                esc(&r.setting),
                r.n,
                mean_std_ci(r.accuracy_mean, r.accuracy_std, r.accuracy_ci),
                r.trainable_params.map(thousands).unwrap_or_default(),
                r.latency_ms_b1.map(|v| format!("{v:.3}")).unwrap_or_default(),
                r.latency_ms_b64.map(|v| format!("{v:.2}")).unwrap_or_default(),
                r.train_seconds_mean.map(|v| format!("{v:.1}")).unwrap_or_default(),
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
}

fn charts(h: &mut String, p: &Page, sections: &[Section], empty: &str) {
    let drawn: Vec<&Drawn> = p.charts.iter().filter(|c| sections.contains(&c.section)).collect();
    if drawn.is_empty() {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(empty));
        return;
    }
    // Narrow charts (confusion matrices) two to a row.
    let narrow = drawn.iter().all(|c| c.width <= 900);
    h.push_str(if narrow { "<div class=\"grid two\">\n" } else { "<div class=\"grid\">\n" });
    for c in drawn {
        figure(h, &c.png, c.width, c.height, &c.alt, c.svg.as_deref(), "");
    }
    h.push_str("</div>\n");
}

fn figure(h: &mut String, src: &str, w: u32, ht: u32, alt: &str, svg: Option<&str>, caption: &str) {
    let _ = write!(
        h,
        "<figure><img src=\"{}\" width=\"{w}\" height=\"{ht}\" alt=\"{}\"><figcaption>{}",
        esc(src),
        esc(alt),
        esc(if caption.is_empty() { alt } else { caption })
    );
    let _ = write!(h, " (<a href=\"{}\">PNG</a>", esc(src));
    if let Some(svg) = svg {
        let _ = write!(h, ", <a href=\"{}\">SVG</a>", esc(svg));
    }
    h.push_str(")</figcaption></figure>\n");
}

/// The id and title of a section's first `<h2 id="...">title</h2>`.
fn heading(section: &str) -> Option<(&str, &str)> {
    let start = section.find("<h2 id=\"")? + "<h2 id=\"".len();
    let rest = &section[start..];
    let id = &rest[..rest.find('"')?];
    let after = &rest[rest.find('>')? + 1..];
    Some((id, &after[..after.find("</h2>")?]))
}

fn section_paired(h: &mut String, p: &Page) {
    h.push_str("<h2 id=\"paired\">Paired comparisons</h2>\n");
    h.push_str(
        "<p class=\"muted\">Every pair of models on a data set (each model's best setting), compared on the same \
         test images. Runs are paired by seed and fold (a model with one run per fold, such as a shared teacher, is \
         paired with every run of the other). Per pair of runs: McNemar's exact (binomial) test and chi-square test \
         with continuity correction on the images only one model classifies correctly (<code>paired_runs</code>). \
         Combined over runs: the discordant images are pooled (the Mantel-Haenszel test for matched pairs; runs \
         that disagree in direction cancel out) and tested exactly (<code>p_exact</code>). The paired accuracy \
         difference (a − b) carries a 95 % Student-t interval over runs. A model is called better only when the \
         pooled test is significant at alpha 0.05 and, with two runs or more, the interval excludes zero; \
         otherwise the data cannot tell the two apart.</p>\n",
    );
    if p.tables.paired.height() == 0 {
        for note in &p.tables.paired_notes {
            let _ = writeln!(h, "<p class=\"note\">{}.</p>", esc(note));
        }
        h.push_str(
            "<p class=\"note\">No pair of models with per-image predictions on the same test images (each \
             data set needs two models or more with finished evaluations).</p>\n",
        );
        return;
    }
    frame_table(h, &p.tables.paired, &[]);
    for note in &p.tables.paired_notes {
        let _ = writeln!(h, "<p class=\"note\">{}.</p>", esc(note));
    }
    charts(h, p, &[Section::Paired], "No paired comparisons to chart.");
    let n = p.tables.paired_runs.height();
    let _ = writeln!(h, "<details><summary>{n} pair{} of runs</summary>", if n == 1 { "" } else { "s" });
    frame_table(h, &p.tables.paired_runs, &["hash_b"]);
    h.push_str("</details>\n");
}

fn section_kd(h: &mut String, p: &Page) {
    h.push_str("<h2 id=\"kd\">Knowledge distillation</h2>\n");
    if let Some(note) = &p.tables.kd_note {
        let _ = writeln!(h, "<p class=\"note\">{}.</p>", esc(note));
        return;
    }
    h.push_str(
        "<p class=\"muted\">Each distilled student against its plain counterpart (the same architecture, variant, \
         data set, settings, seeds and folds, without a teacher) and against the teacher each run learnt from, on \
         the same test images: the accuracy gain of the student (pp) with its 95 % t-interval over runs and \
         McNemar's test pooled over runs; <code>agreement</code>: the fraction of test images where the two \
         predict the same class (against the teacher: agreement with the teacher); the expected calibration error \
         (ECE, 15 equal-width confidence bins) of each and its change. <code>teacher_weaker</code> marks a teacher \
         less accurate than its student.</p>\n",
    );
    frame_table(h, &p.tables.kd_comparison, &[]);
    for note in &p.tables.kd_notes {
        let _ = writeln!(h, "<p class=\"note\">{}.</p>", esc(note));
    }
    charts(h, p, &[Section::Kd], "No distillation charts.");
    h.push_str("<h3>By temperature and weight</h3>\n");
    frame_table(h, &p.tables.kd, &[]);
}

fn gallery(h: &mut String, images: &[GalleryImage], grouped: bool) {
    let mut groups: Vec<&str> = images.iter().map(|i| i.group.as_str()).collect();
    groups.dedup();
    if !grouped {
        groups = vec![""];
    }
    for g in groups {
        if grouped {
            let _ = writeln!(h, "<h3>{}</h3>", esc(g));
        }
        h.push_str(if grouped { "<div class=\"grid\">\n" } else { "<div class=\"grid samples\">\n" });
        for im in images.iter().filter(|i| !grouped || i.group == g) {
            let caption = format!("{} — {}", im.caption, im.id);
            // Small maps are shown enlarged (up to 3x, about 640 px wide).
            let scale = if grouped { (640.0 / im.width.max(1) as f64).clamp(1.0, 3.0) } else { 1.0 };
            let (w, ht) = ((im.width as f64 * scale) as u32, (im.height as f64 * scale) as u32);
            figure(h, &im.src, w, ht, &im.caption, None, &caption);
        }
        h.push_str("</div>\n");
    }
}

fn section_gallery(h: &mut String, p: &Page) {
    h.push_str("<h2 id=\"saliency\">Saliency maps and STN warps</h2>\n");
    if p.gallery.images.is_empty() {
        h.push_str("<p class=\"note\">No images from saliency (occlusion maps per emotion) or STN-warp entries in this report's scope.</p>\n");
    } else {
        gallery(h, &p.gallery.images, true);
    }
    h.push_str("<h2 id=\"samples\">Sample grids</h2>\n");
    if p.gallery.samples.is_empty() {
        h.push_str("<p class=\"note\">No finished prepare entry with a sample grid behind these evaluations.</p>\n");
    } else {
        gallery(h, &p.gallery.samples, false);
    }
}

fn section_jobs(h: &mut String, p: &Page) {
    let n = p.tables.jobs.height();
    h.push_str(
        "<h2 id=\"jobs\">Every job</h2>\n<p class=\"muted\">One row per finished evaluation with its hyperparameters, \
        cost and store hashes (evaluate, train, prepare). Full tables: ",
    );
    for (name, _) in p.tables.named() {
        let _ = write!(
            h,
            "<code>{name}</code> (<a href=\"tables/{name}.csv\">CSV</a>, <a href=\"tables/{name}.parquet\">Parquet</a>) "
        );
    }
    h.push_str("</p>\n");
    let _ = writeln!(
        h,
        "<details{}><summary>{n} job{}</summary>",
        if n <= 60 { " open" } else { "" },
        if n == 1 { "" } else { "s" }
    );
    frame_table(h, &p.tables.jobs, &["started_at", "libtorch", "train_threads"]);
    h.push_str("</details>\n");
}

fn section_provenance(h: &mut String, p: &Page) {
    let r = p.run;
    let list = |v: &[String]| if v.is_empty() { "unknown".to_string() } else { v.join(", ") };
    let dirty = match r.git_dirty {
        Some(true) => " (uncommitted changes)",
        Some(false) => " (clean)",
        None => "",
    };
    let rows: Vec<(&str, String)> = vec![
        ("git commit", format!("{}{dirty}", r.git_commit)),
        ("fer-pipeline", r.crate_version.clone()),
        ("LibTorch (this build)", r.libtorch.clone()),
        ("programs of the jobs", list(&r.job_programs)),
        ("LibTorch of the jobs", list(&r.job_libtorch)),
        ("devices of the jobs", list(&r.devices)),
        ("GPU", if r.gpus.is_empty() { "none used".into() } else { r.gpus.join(", ") }),
        ("CPU", r.cpu_model.clone()),
        ("seeds", if r.seeds.is_empty() { "none".into() } else { seed_ranges(&r.seeds) }),
        ("Inception_v3 teachers", if r.teachers.is_empty() { "none".into() } else { r.teachers.join("; ") }),
        ("first job started", r.started_at.clone().unwrap_or_else(|| "unknown".into())),
        ("last job finished", r.finished_at.clone().unwrap_or_else(|| "unknown".into())),
        ("store", r.store.clone()),
        ("report generated", r.generated_at.clone()),
    ];
    h.push_str("<h2 id=\"provenance\">Provenance</h2>\n<dl class=\"prov\">\n");
    for (k, v) in rows {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    h.push_str("</dl>\n<p class=\"muted\">Every row of every table carries the store hash of the job behind it \
        (<code>hash</code>: evaluate entry, <code>train_hash</code>, <code>data_hash</code>); \
        <code>&lt;store&gt;/&lt;kind&gt;/&lt;first 16 hex digits&gt;/</code> holds its inputs, outputs and provenance.</p>\n");
}

/// A DataFrame as an HTML table; hash columns shortened (full hash in the tooltip).
pub(crate) fn frame_table(h: &mut String, df: &DataFrame, skip: &[&str]) {
    let cols: Vec<_> = df.columns().iter().filter(|c| !skip.contains(&c.name().as_str())).collect();
    if df.height() == 0 {
        h.push_str("<p class=\"note\">Empty table.</p>\n");
        return;
    }
    h.push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in &cols {
        let numeric = c.dtype().is_primitive_numeric();
        let _ =
            write!(h, "<th{}>{}</th>", if numeric { " class=\"num\"" } else { "" }, esc(&c.name().replace('_', " ")));
    }
    h.push_str("</tr></thead><tbody>\n");
    for i in 0..df.height() {
        h.push_str("<tr>");
        for c in &cols {
            let name = c.name().as_str();
            let v = c.get(i).unwrap_or(AnyValue::Null);
            let cell = match v {
                AnyValue::Null => "<td></td>".to_string(),
                AnyValue::Float64(x) => format!("<td class=\"num\">{}</td>", number(name, x)),
                AnyValue::Float32(x) => format!("<td class=\"num\">{}</td>", number(name, x as f64)),
                AnyValue::Int64(x) => format!("<td class=\"num\">{x}</td>"),
                AnyValue::Int32(x) => format!("<td class=\"num\">{x}</td>"),
                AnyValue::UInt32(x) => format!("<td class=\"num\">{x}</td>"),
                AnyValue::UInt64(x) => format!("<td class=\"num\">{x}</td>"),
                AnyValue::Boolean(b) => format!("<td>{b}</td>"),
                AnyValue::String(s) if name.ends_with("hash") && s.len() > 16 => {
                    format!("<td class=\"hash\" title=\"{}\">{}</td>", esc(s), esc(&s[..16]))
                }
                AnyValue::String(s) => format!("<td>{}</td>", esc(s)),
                AnyValue::StringOwned(s) => format!("<td>{}</td>", esc(s.as_str())),
                other => format!("<td>{}</td>", esc(&other.to_string())),
            };
            h.push_str(&cell);
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
}

/// Formats a float by what its column holds.
fn number(column: &str, x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if column.starts_with("p_") {
        return if x != 0.0 && x < 1e-4 { format!("{x:.2e}") } else { format!("{x:.4}") };
    }
    if column.ends_with("_pct") || column.ends_with("_pp") {
        format!("{x:.2}")
    } else if column.starts_with("accuracy")
        || column.starts_with("macro_f1")
        || column.starts_with("ece")
        || column == "agreement"
    {
        format!("{x:.4}")
    } else if column.starts_with("latency") {
        format!("{x:.3}")
    } else if column.contains("seconds") {
        format!("{x:.1}")
    } else {
        let s = format!("{x}");
        if s.len() > 10 {
            format!("{x:.6e}")
        } else {
            s
        }
    }
}

/// Draws `chart` to `<out_dir>/charts/<stem>.png` (and `.svg` with `svg`), adds the files to
/// `written` (relative to the report folder) and its figure, captioned with `title`, to `h`.
pub(crate) fn chart_figure<C: super::charts::Chart>(
    chart: &C,
    title: &str,
    out_dir: &std::path::Path,
    stem: &str,
    svg: bool,
    written: &mut Vec<String>,
    h: &mut String,
) -> Result<(), super::error::ReportError> {
    let charts = out_dir.join("charts");
    std::fs::create_dir_all(&charts).map_err(|e| super::error::ReportError::write(&charts, e))?;
    super::charts::render(chart, &charts.join(stem), svg)?;
    written.push(format!("charts/{stem}.png"));
    if svg {
        written.push(format!("charts/{stem}.svg"));
    }
    let (w, ht) = chart.size();
    let svg_link = if svg { format!(", <a href=\"charts/{stem}.svg\">SVG</a>") } else { String::new() };
    h.push_str(&format!(
        "<figure><img src=\"charts/{stem}.png\" width=\"{w}\" height=\"{ht}\" alt=\"{alt}\">\
         <figcaption>{alt} (<a href=\"charts/{stem}.png\">PNG</a>{svg_link})</figcaption></figure>\n",
        alt = esc(title),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sections_heading_makes_its_link() {
        assert_eq!(
            heading("<h2 id=\"robustness\">Robustness to corruptions</h2>\n<p>..."),
            Some(("robustness", "Robustness to corruptions"))
        );
        assert_eq!(heading("<p>no heading</p>"), None);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn numbers_by_column() {
        assert_eq!(number("published_pct", 70.02), "70.02");
        assert_eq!(number("accuracy", 0.133333), "0.1333");
        assert_eq!(number("lr", 0.005), "0.005");
        assert_eq!(number("adam_eps", 1e-8), "0.00000001");
        assert_eq!(number("x", f64::NAN), "");
    }
}

//! Reading a NIR graph as a host-sim model: `--model FILE.nir` anywhere a
//! model is read (`eval`, `crosscheck`, `export` to the chip's image,
//! `plot`, `device`).
//!
//! The `nir` package reads the file (`import.py`, which interprets nothing);
//! [`from_graph`] maps the graph onto the core's network, or says which
//! node or value does not fit. Accepted: one `Input` of 784, a `Linear` or
//! `Affine` onto one layer of `LIF` or `CubaLIF` neurons that feeds the one
//! `Output`, and optionally Diehl & Cook's inhibition: a `Linear` from the
//! layer back onto it (zero diagonal, one weight everywhere else), or a
//! one-to-one `Linear` onto a second `LIF`/`CubaLIF` layer and a `Linear`
//! from it onto every other neuron of the first.
//!
//! | NIR | core |
//! |---|---|
//! | `LIF` tau, r, v_leak, v_reset | current-based LIF, tau_m = tau, v_rest = v_leak; incoming weights times r / tau (the jump of v) |
//! | `CubaLIF` tau_syn, tau_mem, r, w_in | synaptic currents (`"cuba": true`): tau_ge = tau_gi = tau_syn, e_exc - v_rest = r w_in / tau_syn, e_inh - v_rest = -(e_exc - v_rest) |
//! | `v_threshold` per neuron | theta per neuron (threshold = (v_thresh - theta_offset) + theta) |
//! | `Affine` bias, one value b | v_rest += r b (LIF) or r w_in b (CubaLIF): the same steady input |
//!
//! The core's layers have one value of each parameter: a parameter that
//! differs between the neurons of a layer (but the threshold) is refused,
//! so are negative input weights (the input synapses are excitatory).
//! What NIR cannot say comes from the graph's metadata if host-sim wrote
//! it (`host_sim_config`: refractory periods, time step, presentation,
//! learning rule; values the graph also holds are taken from there only
//! where they agree to 1e-9, so a round trip is exact), else from
//! Diehl & Cook's defaults with no refractory period (NIR's neurons have
//! none) and `w_max` = the largest input weight. Label assignments come
//! from the metadata (`assignments`), else `eval` assigns labels itself.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::Deserialize;
use stdp_core::{InhibitionKind, NeuronModel, NeuronParams, MAX_NEURONS};

use stdp_host::backend::Backend;
use stdp_host::config::Config;
use stdp_host::formats::model::{Meta, Model, ValueType};

/// The helper that reads the graph with `nir` (run as `python -c`).
const HELPER: &str = include_str!("import.py");

/// The first bytes of every HDF5 file (so of every NIR file).
pub const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// One node as `import.py` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// The NIR class name (`LIF`, `Linear`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Numeric array fields and their shapes (values in [`Arrays`]).
    #[serde(default)]
    pub arrays: BTreeMap<String, Vec<usize>>,
    /// Other fields (`input_type` of an `Input`, ...).
    #[serde(default)]
    pub attrs: serde_json::Value,
}

/// A graph as `import.py` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Graph {
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Edges (from, to).
    pub edges: Vec<(String, String)>,
    /// The graph's metadata.
    #[serde(default)]
    pub metadata: serde_json::Value,
}

/// Array values by `NODE.FIELD`, flattened in C order.
pub type Arrays = BTreeMap<String, Vec<f64>>;

/// Reads the NIR file at `path` as a model.
pub fn import(path: &Path) -> Result<Model> {
    let py = super::require_python("reading a NIR graph")?;
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let o = Command::new(&py)
        .arg("-c")
        .arg(HELPER)
        .arg(path)
        .arg(dir.path())
        .output()
        .with_context(|| format!("cannot run {}", py.display()))?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.lines().last().unwrap_or("").trim();
        bail!("nir cannot read {}: {last}", path.display());
    }
    let graph: Graph = serde_json::from_slice(&std::fs::read(dir.path().join("graph.json"))?)
        .context("the NIR reader wrote an unreadable graph description")?;
    let arrays = read_npz(&dir.path().join("arrays.npz"))?;
    from_graph(&graph, &arrays).with_context(|| format!("{} is not a network the core runs", path.display()))
}

/// The float64 arrays of an `.npz` that `numpy.savez` wrote (stored, not
/// compressed).
fn read_npz(path: &Path) -> Result<Arrays> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).context("the NIR reader wrote an unreadable .npz")?;
    let mut out = Arrays::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let npy = npyz::NpyFile::new(&bytes[..]).with_context(|| format!("array {name}"))?;
        out.insert(
            name.clone(),
            npy.into_vec::<f64>().with_context(|| format!("array {name}"))?,
        );
    }
    Ok(out)
}

/// A neuron layer as the core sees it.
struct LayerFit {
    cfg: NeuronParams,
    /// v_threshold per neuron (mV).
    thresholds: Vec<f64>,
    /// What an incoming weight becomes in the core (the jump of v per unit
    /// for LIF, 1 for CubaLIF: ge jumps by the weight).
    weight_scale: f64,
}

/// A `Linear` or `Affine`: rows, columns, weights, the bias if not zero.
type Connection<'a> = (usize, usize, &'a [f64], Option<&'a [f64]>);

struct View<'a> {
    g: &'a Graph,
    arrays: &'a Arrays,
}

impl View<'_> {
    fn kind(&self, name: &str) -> &str {
        self.g.nodes.get(name).map_or("", |n| n.kind.as_str())
    }
    fn preds(&self, name: &str) -> Vec<&str> {
        self.g
            .edges
            .iter()
            .filter(|(_, b)| b == name)
            .map(|(a, _)| a.as_str())
            .collect()
    }
    fn succs(&self, name: &str) -> Vec<&str> {
        self.g
            .edges
            .iter()
            .filter(|(a, _)| a == name)
            .map(|(_, b)| b.as_str())
            .collect()
    }
    /// Field `field` of node `name`, with its shape.
    fn array(&self, name: &str, field: &str) -> Result<(&[usize], &[f64])> {
        let node = &self.g.nodes[name];
        let shape = node
            .arrays
            .get(field)
            .ok_or_else(|| anyhow!("node {name} ({}): no field {field}", node.kind))?;
        let values = self
            .arrays
            .get(&format!("{name}.{field}"))
            .ok_or_else(|| anyhow!("node {name}: the values of {field} are missing"))?;
        ensure!(
            shape.iter().product::<usize>() == values.len(),
            "node {name}: {field} has {} values for shape {shape:?}",
            values.len()
        );
        Ok((shape.as_slice(), values.as_slice()))
    }
    /// Field `field` of a layer of `n` neurons: one value per neuron.
    fn per_neuron(&self, name: &str, field: &str, n: usize) -> Result<&[f64]> {
        let (shape, v) = self.array(name, field)?;
        ensure!(
            v.len() == n && shape.len() <= 1,
            "node {name}: {field} has shape {shape:?}, expected ({n},)"
        );
        ensure!(
            v.iter().all(|x| x.is_finite()),
            "node {name}: {field} is not finite everywhere"
        );
        Ok(v)
    }
    /// Field `field` of a layer: the one value all its neurons share.
    fn uniform(&self, name: &str, field: &str, n: usize) -> Result<f64> {
        let v = self.per_neuron(name, field, n)?;
        let x = v[0];
        if let Some(j) = v.iter().position(|&y| y != x) {
            bail!(
                "node {name}: {field} differs between neurons ({x} for neuron 0, {} for neuron {j}); the core's \
                 layer has one value",
                v[j]
            );
        }
        Ok(x)
    }
    /// A `Linear` or `Affine`'s weight (rows, columns, values) and its bias,
    /// if one with any non-zero value.
    fn linear(&self, name: &str) -> Result<Connection<'_>> {
        let kind = self.kind(name);
        ensure!(
            kind == "Linear" || kind == "Affine",
            "node {name} is a {kind}: expected a Linear or Affine"
        );
        let (shape, w) = self.array(name, "weight")?;
        ensure!(
            shape.len() == 2,
            "node {name}: weight has shape {shape:?}, expected 2-D"
        );
        ensure!(
            w.iter().all(|x| x.is_finite()),
            "node {name}: weight is not finite everywhere"
        );
        let bias = if kind == "Affine" {
            let (_, b) = self.array(name, "bias")?;
            ensure!(
                b.len() == shape[0],
                "node {name}: bias has {} values for {} rows",
                b.len(),
                shape[0]
            );
            b.iter().any(|&x| x != 0.0).then_some(b)
        } else {
            None
        };
        Ok((shape[0], shape[1], w, bias))
    }
    /// An `n x n` connection that is `d` on the diagonal and `o` elsewhere:
    /// `(d, o)`, or why not.
    fn diag_off(&self, name: &str, n: usize) -> Result<(f64, f64)> {
        let (rows, cols, w, bias) = self.linear(name)?;
        ensure!(
            rows == n && cols == n,
            "node {name}: weight is {rows} x {cols}, expected {n} x {n}"
        );
        ensure!(
            bias.is_none(),
            "node {name}: a bias on a connection between layers has no place in the core"
        );
        let d = w[0];
        let o = if n > 1 { w[1] } else { 0.0 };
        for r in 0..n {
            for c in 0..n {
                let want = if r == c { d } else { o };
                ensure!(
                    w[r * n + c] == want,
                    "node {name}: weight[{r}, {c}] = {}, but the core's lateral connections have one value on the \
                     diagonal ({d}) and one elsewhere ({o})",
                    w[r * n + c]
                );
            }
        }
        Ok((d, o))
    }
}

/// `graph` if it agrees with `meta` to 1e-9 (relative), else `graph`: the
/// writer's exact value where NIR's units only rounded it.
fn refine(graph: f64, meta: Option<f64>) -> f64 {
    match meta {
        Some(m) if (graph - m).abs() <= 1e-9 * m.abs().max(1.0) => m,
        _ => graph,
    }
}

/// Maps layer `name` (`n` neurons) onto a core layer, starting from `base`
/// (the writer's parameters, or the defaults); `bias` is the steady input
/// of an `Affine` onto it.
fn layer(v: &View<'_>, name: &str, n: usize, base: &NeuronParams, exact: bool, bias: f64) -> Result<LayerFit> {
    let m = |x: f64| if exact { Some(x) } else { None };
    let mut cfg = *base;
    let thresholds = v.per_neuron(name, "v_threshold", n)?.to_vec();
    let v_reset = v.uniform(name, "v_reset", n)?;
    let v_leak = v.uniform(name, "v_leak", n)?;
    let r = v.uniform(name, "r", n)?;
    let weight_scale;
    match v.kind(name) {
        "LIF" => {
            let tau = v.uniform(name, "tau", n)?;
            ensure!(tau > 0.0, "node {name}: tau must be > 0 (got {tau})");
            cfg.model = NeuronModel::Lif;
            cfg.tau_m_ms = refine(tau * 1e3, m(base.tau_m_ms));
            weight_scale = r / tau;
            cfg.v_rest_mv = refine(v_leak + r * bias, m(base.v_rest_mv));
        }
        "CubaLIF" => {
            let (tau_syn, tau_mem) = (v.uniform(name, "tau_syn", n)?, v.uniform(name, "tau_mem", n)?);
            let w_in = v.uniform(name, "w_in", n)?;
            ensure!(
                tau_syn > 0.0 && tau_mem > 0.0,
                "node {name}: tau_syn and tau_mem must be > 0 (got {tau_syn}, {tau_mem})"
            );
            let drive = r * w_in / tau_syn;
            cfg.model = NeuronModel::CubaLif;
            cfg.tau_m_ms = refine(tau_mem * 1e3, m(base.tau_m_ms));
            cfg.tau_ge_ms = refine(tau_syn * 1e3, m(base.tau_ge_ms));
            cfg.tau_gi_ms = cfg.tau_ge_ms;
            cfg.v_rest_mv = refine(v_leak + r * w_in * bias, m(base.v_rest_mv));
            cfg.e_exc_mv = refine(cfg.v_rest_mv + drive, m(base.e_exc_mv));
            cfg.e_inh_mv = cfg.v_rest_mv - (cfg.e_exc_mv - cfg.v_rest_mv);
            weight_scale = 1.0;
        }
        other => bail!("node {name} is a {other}: the core's neurons are LIF or CubaLIF"),
    }
    ensure!(
        weight_scale.is_finite() && weight_scale > 0.0,
        "node {name}: r must be > 0 (got {r})"
    );
    cfg.v_reset_mv = refine(v_reset, m(base.v_reset_mv));
    if !exact {
        // NIR's neurons have no refractory period and start at rest.
        cfg.refractory_ms = 0.0;
        cfg.threshold_block_ms = 0.0;
        cfg.v_init_mv = cfg.v_rest_mv;
    }
    Ok(LayerFit {
        cfg,
        thresholds,
        weight_scale,
    })
}

/// The metadata's `host_sim_config` (host-sim wrote the graph), if any.
fn writer_config(meta: &serde_json::Value) -> Result<Option<Config>> {
    match meta.get("host_sim_config").and_then(|c| c.as_str()) {
        Some(text) => Ok(Some(
            serde_json::from_str(text).context("metadata host_sim_config is not host-sim's parameter set")?,
        )),
        None => Ok(None),
    }
}

/// The model a NIR graph describes (see the module documentation).
pub fn from_graph(g: &Graph, arrays: &Arrays) -> Result<Model> {
    let v = View { g, arrays };
    for (a, b) in &g.edges {
        for end in [a, b] {
            ensure!(g.nodes.contains_key(end), "edge {a} -> {b}: no node {end}");
        }
    }
    const KINDS: [&str; 6] = ["Input", "Output", "Linear", "Affine", "LIF", "CubaLIF"];
    for (name, node) in &g.nodes {
        ensure!(
            KINDS.contains(&node.kind.as_str()),
            "node {name} is a {}: the core runs Input, Output, Linear, Affine, LIF and CubaLIF",
            node.kind
        );
    }
    let of_kind = |k: &str| {
        g.nodes
            .iter()
            .filter(|(_, n)| n.kind == k)
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
    };
    let (inputs, outputs) = (of_kind("Input"), of_kind("Output"));
    ensure!(
        inputs.len() == 1,
        "{} Input nodes; the core's network has one",
        inputs.len()
    );
    ensure!(
        outputs.len() == 1,
        "{} Output nodes; the core's network has one",
        outputs.len()
    );
    let (input, output) = (inputs[0], outputs[0]);
    let n_in: usize = g.nodes[input]
        .attrs
        .pointer("/input_type/input")
        .and_then(|s| s.as_array())
        .map(|s| s.iter().map(|x| x.as_u64().unwrap_or(0) as usize).product())
        .unwrap_or(0);
    ensure!(
        n_in == 784,
        "the Input has {n_in} values; host-sim's networks take 784 (28 x 28 pixels)"
    );

    // The excitatory layer: the one that feeds the Output.
    let exc = match v.preds(output).as_slice() {
        [e] if matches!(v.kind(e), "LIF" | "CubaLIF") => *e,
        p => bail!("the Output must be fed by one LIF or CubaLIF layer (it is fed by {p:?})"),
    };
    let w_in = match v.succs(input).as_slice() {
        [w] if v.succs(w) == [exc] => *w,
        s => bail!("the Input must feed one Linear or Affine onto {exc} (it feeds {s:?})"),
    };
    let (n, cols, w, bias) = v.linear(w_in)?;
    ensure!(
        (1..=MAX_NEURONS).contains(&n),
        "node {w_in}: {n} neurons; host-sim's layers have 1 to {MAX_NEURONS}, the most a chip image holds"
    );
    ensure!(cols == n_in, "node {w_in}: weight has {cols} columns for {n_in} inputs");
    ensure!(
        w.iter().all(|&x| x >= 0.0),
        "node {w_in}: negative input weights (the core's input synapses are excitatory)"
    );
    let bias = match bias {
        None => 0.0,
        Some(b) if b.iter().all(|&x| x == b[0]) => b[0],
        Some(_) => bail!("node {w_in}: the bias differs between neurons; the core's layer has one resting potential"),
    };

    // Inhibition: a lateral Linear, or one through an inhibitory layer.
    let mut used = vec![input, output, exc, w_in];
    let others: Vec<&str> = v.preds(exc).into_iter().filter(|&p| p != w_in).collect();
    enum Inhib<'a> {
        Direct {
            lateral: &'a str,
        },
        Layer {
            to_inh: &'a str,
            inh: &'a str,
            to_exc: &'a str,
        },
    }
    let inhib = match others.as_slice() {
        [] => bail!("no inhibition: the core's networks have lateral inhibition (a Linear from {exc} back onto it, or an inhibitory layer)"),
        [p] => match v.preds(p).as_slice() {
            [q] if *q == exc => Inhib::Direct { lateral: p },
            [q] if matches!(v.kind(q), "LIF" | "CubaLIF") => match v.preds(q).as_slice() {
                [r] if v.preds(r) == [exc] => Inhib::Layer {
                    to_inh: r,
                    inh: q,
                    to_exc: p,
                },
                r => bail!("node {q} must be fed by one Linear from {exc} (it is fed by {r:?})"),
            },
            q => bail!("node {p} must be fed by {exc} or by an inhibitory layer (it is fed by {q:?})"),
        },
        p => bail!("{exc} is fed by {} connections besides the input ({p:?}); the core has one inhibition", p.len()),
    };
    match inhib {
        Inhib::Direct { lateral } => used.push(lateral),
        Inhib::Layer { to_inh, inh, to_exc } => used.extend([to_inh, inh, to_exc]),
    }
    for name in g.nodes.keys() {
        ensure!(
            used.contains(&name.as_str()),
            "node {name} is not part of a network the core runs"
        );
    }
    let mut outs: Vec<&str> = v.succs(exc);
    outs.sort();
    let mut want: Vec<&str> = match inhib {
        Inhib::Direct { lateral } => vec![output, lateral],
        Inhib::Layer { to_inh, .. } => vec![output, to_inh],
    };
    want.sort();
    ensure!(outs == want, "{exc} feeds {outs:?}; expected {want:?}");

    // Parameters: the writer's if host-sim wrote the graph, else defaults.
    let writer = writer_config(&g.metadata)?;
    let exact = writer.is_some();
    let writer_exc = writer.as_ref().map(|c| c.exc);
    let mut cfg = writer.unwrap_or_default();
    cfg.n_neurons = n;
    cfg.n_inputs = n_in;
    if let Some(dt) = g.metadata.get("dt_ms").and_then(|x| x.as_f64()) {
        cfg.dt_ms = dt;
    }
    let mut e = layer(&v, exc, n, &cfg.exc, exact, bias)?;
    // An inhibitory weight onto the layer: the core's weight for the NIR
    // weight `o` (<= 0). Onto a CubaLIF the imported layer inhibits with
    // e_inh - v_rest = -(e_exc - v_rest), so the weight is |o|; but if
    // host-sim wrote this layer exactly (synaptic currents, one time
    // constant), its own e_inh and weight `meta` are restored when they
    // give `o` (export.py's scaling) to 1e-9.
    let restorable = writer_exc
        .filter(|w| {
            e.cfg.model == NeuronModel::CubaLif && w.model == NeuronModel::CubaLif && w.tau_gi_ms == w.tau_ge_ms
        })
        .map(|w| ((w.e_inh_mv - w.v_rest_mv) / (w.e_exc_mv - w.v_rest_mv), w.e_inh_mv));
    let mut inhibitory = |o: f64, meta: f64| -> f64 {
        let w = -o * e.weight_scale;
        match restorable {
            Some((scale, e_inh)) if (o - scale * meta).abs() <= 1e-9 * meta.abs().max(1.0) => {
                e.cfg.e_inh_mv = e_inh;
                meta
            }
            _ if exact && e.cfg.model != NeuronModel::CubaLif => refine(w, Some(meta)),
            _ => w,
        }
    };
    let mut weights = vec![0.0; n_in * n];
    for j in 0..n {
        for i in 0..n_in {
            weights[i * n + j] = w[j * n_in + i] * e.weight_scale;
        }
    }
    match inhib {
        Inhib::Direct { lateral } => {
            let (d, o) = v.diag_off(lateral, n)?;
            ensure!(
                d == 0.0 && o <= 0.0,
                "node {lateral}: lateral inhibition needs a zero diagonal and weights <= 0 elsewhere (got {d}, {o})"
            );
            cfg.inhibition = InhibitionKind::Direct;
            cfg.direct_inh_weight = inhibitory(o, cfg.direct_inh_weight);
        }
        Inhib::Layer { to_inh, inh, to_exc } => {
            let i = layer(&v, inh, n, &cfg.inh, exact, 0.0)?;
            let thr = i.thresholds[0];
            if let Some(j) = i.thresholds.iter().position(|&t| t != thr) {
                bail!("node {inh}: v_threshold differs between neurons ({thr}, {} for neuron {j}); the core's inhibitory layer has one threshold", i.thresholds[j]);
            }
            let (d, o) = v.diag_off(to_inh, n)?;
            ensure!(o == 0.0 && d > 0.0, "node {to_inh}: the inhibitory layer is driven one to one (a positive diagonal, zero elsewhere; got {d}, {o})");
            let (d2, o2) = v.diag_off(to_exc, n)?;
            ensure!(d2 == 0.0 && o2 <= 0.0, "node {to_exc}: the inhibitory layer inhibits every other neuron (a zero diagonal, weights <= 0 elsewhere; got {d2}, {o2})");
            cfg.inhibition = InhibitionKind::Layer;
            let mut ic = i.cfg;
            ic.theta_plus_mv = 0.0;
            if exact {
                // No inhibition reaches the inhibitory layer: its e_inh and
                // tau_gi play no part; the writer's are kept.
                (ic.e_inh_mv, ic.tau_gi_ms) = (cfg.inh.e_inh_mv, cfg.inh.tau_gi_ms);
            }
            ic.theta_init_mv = thr - (ic.v_thresh_mv - ic.theta_offset_mv);
            if !exact || (ic.v_thresh_mv - ic.theta_offset_mv) + ic.theta_init_mv != thr {
                (ic.v_thresh_mv, ic.theta_offset_mv, ic.theta_init_mv) = (thr, 0.0, 0.0);
            }
            cfg.inh = ic;
            cfg.w_exc_inh = refine(d * i.weight_scale, exact.then_some(cfg.w_exc_inh));
            cfg.w_inh_exc = inhibitory(o2, cfg.w_inh_exc);
        }
    }
    // theta from the thresholds: (v_thresh - offset) + theta = v_threshold,
    // exactly (else the base is 0 and theta the whole threshold).
    let mut ec = e.cfg;
    let base = ec.v_thresh_mv - ec.theta_offset_mv;
    let mut theta: Vec<f64> = e.thresholds.iter().map(|&t| t - base).collect();
    if theta.iter().zip(&e.thresholds).any(|(&th, &t)| base + th != t) {
        ec.v_thresh_mv = 0.0;
        ec.theta_offset_mv = 0.0;
        theta = e.thresholds.clone();
    }
    cfg.exc = ec;
    if !exact {
        let top = weights.iter().fold(0.0f64, |m, &x| m.max(x));
        cfg.stdp.w_max = if top > 0.0 { top } else { 1.0 };
    }
    cfg.check().context("the graph's parameters")?;
    stdp_core::Network::<f64>::new(&cfg.network()).map_err(|e| anyhow!("the graph's parameters: {e}"))?;
    let assignments: Vec<u8> = match g.metadata.get("assignments").and_then(|a| a.as_array()) {
        Some(a) if a.len() == n => a
            .iter()
            .map(|x| x.as_i64().filter(|c| (0..10).contains(c)).map_or(255, |c| c as u8))
            .collect(),
        _ => Vec::new(),
    };
    let backend = g
        .metadata
        .get("host_sim_backend")
        .and_then(|b| b.as_str())
        .and_then(Backend::from_file)
        .unwrap_or(Backend::F32);
    let writer = g.metadata.get("source").and_then(|s| s.as_str()).unwrap_or("unknown");
    Ok(Model {
        meta: Meta {
            written_by: format!(
                "NIR graph (source: {writer}) read by host-sim {}",
                env!("CARGO_PKG_VERSION")
            ),
            config: cfg,
            backend,
            value_type: ValueType::F64,
            seed: 0,
            examples_trained: 0,
            retries: 0,
            train_seconds: 0.0,
            assignments,
            history: Vec::new(),
            progress: None,
        },
        weights,
        theta,
        dynamic_values: Vec::new(),
        dynamic_ints: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const N: usize = 3;
    const IN: usize = 784;

    /// A graph builder: nodes with their arrays.
    #[derive(Default)]
    struct G {
        nodes: BTreeMap<String, Node>,
        arrays: Arrays,
        edges: Vec<(String, String)>,
        metadata: serde_json::Value,
    }

    impl G {
        fn node(&mut self, name: &str, kind: &str, fields: &[(&str, Vec<usize>, Vec<f64>)]) -> &mut Self {
            let mut arrays = BTreeMap::new();
            for (f, shape, values) in fields {
                arrays.insert(f.to_string(), shape.clone());
                self.arrays.insert(format!("{name}.{f}"), values.clone());
            }
            let attrs = if kind == "Input" {
                json!({"input_type": {"input": [IN]}})
            } else {
                json!({})
            };
            self.nodes.insert(
                name.into(),
                Node {
                    kind: kind.into(),
                    arrays,
                    attrs,
                },
            );
            self
        }
        fn edge(&mut self, a: &str, b: &str) -> &mut Self {
            self.edges.push((a.into(), b.into()));
            self
        }
        fn graph(&self) -> Graph {
            Graph {
                nodes: self.nodes.clone(),
                edges: self.edges.clone(),
                metadata: self.metadata.clone(),
            }
        }
        fn import(&self) -> Result<Model> {
            from_graph(&self.graph(), &self.arrays)
        }
    }

    fn v(x: f64) -> (Vec<usize>, Vec<f64>) {
        (vec![N], vec![x; N])
    }

    fn lif(tau: f64, r: f64, thr: [f64; N]) -> Vec<(&'static str, Vec<usize>, Vec<f64>)> {
        vec![
            ("tau", v(tau).0, v(tau).1),
            ("r", v(r).0, v(r).1),
            ("v_leak", v(-65.0).0, v(-65.0).1),
            ("v_reset", v(-60.0).0, v(-60.0).1),
            ("v_threshold", vec![N], thr.to_vec()),
        ]
    }

    fn off(x: f64) -> (&'static str, Vec<usize>, Vec<f64>) {
        let w = (0..N * N).map(|k| if k / N == k % N { 0.0 } else { x }).collect();
        ("weight", vec![N, N], w)
    }

    fn input_weights() -> (&'static str, Vec<usize>, Vec<f64>) {
        (
            "weight",
            vec![N, IN],
            (0..N * IN).map(|k| (k % 7) as f64 * 0.1).collect(),
        )
    }

    /// Input -> Linear -> LIF -> Output with a lateral Linear: a network
    /// another tool could have written (no host-sim metadata).
    fn direct_lif() -> G {
        let mut g = G::default();
        g.node("in", "Input", &[])
            .node("w", "Linear", &[input_weights()])
            .node("lif", "LIF", &lif(0.1, 0.2, [-50.0, -49.5, -48.0]))
            .node("lat", "Linear", &[off(-3.0)])
            .node("out", "Output", &[])
            .edge("in", "w")
            .edge("w", "lif")
            .edge("lif", "out")
            .edge("lif", "lat")
            .edge("lat", "lif");
        g
    }

    #[test]
    fn a_foreign_lif_graph_becomes_the_core_network_it_describes() {
        let m = direct_lif().import().unwrap();
        let c = &m.meta.config;
        assert_eq!((c.n_inputs, c.n_neurons), (IN, N));
        assert_eq!(c.exc.model, NeuronModel::Lif);
        assert_eq!(c.exc.tau_m_ms, 100.0);
        assert_eq!((c.exc.v_rest_mv, c.exc.v_reset_mv), (-65.0, -60.0));
        assert_eq!(c.exc.refractory_ms, 0.0, "NIR's LIF has no refractory period");
        assert_eq!(c.inhibition, InhibitionKind::Direct);
        // r / tau = 2: each weight moves v by twice its value.
        assert_eq!(c.direct_inh_weight, 6.0);
        assert_eq!(
            m.weights[5 * N + 1],
            w_at(1, 5) * 2.0,
            "weights[i * n + j] = weight[j, i] * r / tau"
        );
        let top = m.weights.iter().fold(0.0f64, |a, &b| a.max(b));
        assert_eq!(c.stdp.w_max, top, "w_max covers the weights (the chip's quantisation)");
        for (j, t) in [-50.0, -49.5, -48.0].iter().enumerate() {
            assert_eq!(
                (c.exc.v_thresh_mv - c.exc.theta_offset_mv) + m.theta[j],
                *t,
                "threshold of {j}"
            );
        }
        assert!(m.meta.assignments.is_empty(), "no metadata: eval assigns labels");
    }

    fn w_at(j: usize, i: usize) -> f64 {
        ((j * IN + i) % 7) as f64 * 0.1
    }

    #[test]
    fn a_cuba_lif_graph_with_an_inhibitory_layer_gets_synaptic_currents() {
        let cuba = |thr: f64| {
            vec![
                ("tau_syn", vec![N], vec![0.005; N]),
                ("tau_mem", vec![N], vec![0.1; N]),
                ("r", vec![N], vec![0.25; N]),
                ("w_in", vec![N], vec![2.0; N]),
                ("v_leak", vec![N], vec![-65.0; N]),
                ("v_reset", vec![N], vec![-65.0; N]),
                ("v_threshold", vec![N], vec![thr; N]),
            ]
        };
        let eye = (
            "weight",
            vec![N, N],
            (0..N * N).map(|k| if k / N == k % N { 4.0 } else { 0.0 }).collect(),
        );
        let mut g = G::default();
        g.node("in", "Input", &[])
            .node("w", "Affine", &[input_weights(), ("bias", vec![N], vec![0.0; N])])
            .node("exc", "CubaLIF", &cuba(-52.0))
            .node("ei", "Linear", &[eye])
            .node("inh", "LIF", &lif(0.01, 0.01, [-40.0; N]))
            .node("ie", "Linear", &[off(-7.0)])
            .node("out", "Output", &[])
            .edge("in", "w")
            .edge("w", "exc")
            .edge("exc", "out")
            .edge("exc", "ei")
            .edge("ei", "inh")
            .edge("inh", "ie")
            .edge("ie", "exc");
        let m = g.import().unwrap();
        let c = &m.meta.config;
        assert_eq!(c.exc.model, NeuronModel::CubaLif);
        assert_eq!((c.exc.tau_ge_ms, c.exc.tau_gi_ms), (5.0, 5.0));
        assert_eq!(c.exc.tau_m_ms, 100.0);
        // e_exc - v_rest = r w_in / tau_syn = 100 mV; inhibition the mirror.
        assert_eq!((c.exc.e_exc_mv, c.exc.e_inh_mv), (35.0, -165.0));
        assert_eq!(m.weights[5 * N + 1], w_at(1, 5), "ge jumps by the weight");
        assert_eq!(c.inhibition, InhibitionKind::Layer);
        assert_eq!((c.w_exc_inh, c.w_inh_exc), (4.0, 7.0));
        assert!(c.inh.model != NeuronModel::CubaLif && c.inh.tau_m_ms == 10.0);
        assert_eq!(c.inh.v_thresh_mv - c.inh.theta_offset_mv + c.inh.theta_init_mv, -40.0);
    }

    #[test]
    fn a_uniform_bias_is_a_resting_potential() {
        let mut g = direct_lif();
        g.nodes.get_mut("w").unwrap().kind = "Affine".into();
        g.nodes.get_mut("w").unwrap().arrays.insert("bias".into(), vec![N]);
        g.arrays.insert("w.bias".into(), vec![5.0; N]);
        // v_leak + r b = -65 + 0.2 * 5
        assert_eq!(g.import().unwrap().meta.config.exc.v_rest_mv, -64.0);
        g.arrays.insert("w.bias".into(), vec![5.0, 5.0, 1.0]);
        let e = format!("{:#}", g.import().unwrap_err());
        assert!(e.contains("bias differs between neurons"), "{e}");
    }

    #[test]
    fn graphs_the_core_cannot_run_are_refused_naming_what_does_not_fit() {
        type Damage = Box<dyn Fn(&mut G)>;
        let cases: Vec<(&str, Damage, &str)> = vec![
            (
                "unknown node type",
                Box::new(|g| g.nodes.get_mut("lat").unwrap().kind = "Conv2d".into()),
                "node lat is a Conv2d",
            ),
            (
                "tau differs",
                Box::new(|g| g.arrays.get_mut("lif.tau").unwrap()[2] = 0.05),
                "node lif: tau differs between neurons",
            ),
            (
                "negative input weight",
                Box::new(|g| g.arrays.get_mut("w.weight").unwrap()[3] = -0.1),
                "negative input weights",
            ),
            (
                "lateral weights differ",
                Box::new(|g| g.arrays.get_mut("lat.weight").unwrap()[5] = -2.0),
                "node lat: weight[1, 2] = -2",
            ),
            (
                "excitatory lateral",
                Box::new(|g| *g.arrays.get_mut("lat.weight").unwrap() = off(3.0).2),
                "weights <= 0",
            ),
            (
                "no inhibition",
                Box::new(|g| {
                    g.edges.retain(|(a, b)| a != "lat" && b != "lat");
                    g.nodes.remove("lat");
                }),
                "no inhibition",
            ),
            (
                "an extra node",
                Box::new(|g| {
                    g.node("x", "Linear", &[off(1.0)]);
                }),
                "node x is not part of",
            ),
            (
                "two outputs",
                Box::new(|g| {
                    g.node("out2", "Output", &[]).edge("lif", "out2");
                }),
                "2 Output nodes",
            ),
            (
                "wrong input size",
                Box::new(|g| g.nodes.get_mut("in").unwrap().attrs = json!({"input_type": {"input": [28, 27]}})),
                "the Input has 756 values",
            ),
            (
                "edge to nowhere",
                Box::new(|g| {
                    g.edge("lif", "ghost");
                }),
                "no node ghost",
            ),
            (
                "a parameter missing",
                Box::new(|g| {
                    g.nodes.get_mut("lif").unwrap().arrays.remove("r");
                }),
                "node lif (LIF): no field r",
            ),
            (
                "no neurons",
                Box::new(|g| {
                    g.nodes
                        .get_mut("w")
                        .unwrap()
                        .arrays
                        .insert("weight".into(), vec![0, IN]);
                    g.arrays.insert("w.weight".into(), Vec::new());
                }),
                "0 neurons",
            ),
            (
                "a NaN threshold",
                Box::new(|g| g.arrays.get_mut("lif.v_threshold").unwrap()[0] = f64::NAN),
                "v_threshold is not finite",
            ),
        ];
        assert!(direct_lif().import().is_ok());
        for (what, damage, want) in cases {
            let mut g = direct_lif();
            damage(&mut g);
            let e = format!("{:#}", g.import().expect_err(what));
            assert!(e.contains(want), "{what}: {e}");
        }
    }
}

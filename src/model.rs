//! Transformer model descriptions, so plans and calibrations start from a real architecture:
//! the presets of `data/models.json`, Hugging Face `config.json` files, and the parameter
//! count computed from an architecture.
//!
//! Planning needs more than a parameter count: the attention term of PaLM's FLOPs, activation
//! memory and the GEMM shapes of a training step all need layers, hidden size, heads and
//! sequence length. [`ModelConfig`] carries them, whichever way it was obtained.
//!
//! # Parameter count
//! With `h` hidden size, `L` layers, `a` heads of size `d` (default `h / a`), `k` KV heads,
//! `f` the MLP's intermediate size, `V` the vocabulary and `T` the context:
//!
//! - embeddings `V·h` (+ `T·h` for a learned position table, GPT-2/GPT-3);
//! - per layer: attention `h·a·d` (Q) + `2·h·k·d` (K, V: grouped-query attention stores only
//!   `k` heads) + `a·d·h` (output); MLP `3·h·f` when gated (SwiGLU: gate, up, down) else
//!   `2·h·f`; two norms of `h` (RMSNorm) or `2h` (LayerNorm with bias); with biases also
//!   `a·d + 2·k·d + h` (attention) and `f·(1 or 2) + h` (MLP);
//! - a final norm, and the LM head `V·h` unless tied to the embeddings.
//!
//! This reproduces the released sizes: LLaMA-7B 6,738,415,616; Llama-2-70B 68,976,648,192;
//! Llama-3-8B 8,030,261,248; GPT-2 124,439,808 (tests below).

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::usage;

/// One model: its size, architecture and where the figures come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Preset key used by `--model` (e.g. `llama-65b`), or the name of a config file's model.
    pub name: String,
    /// Other names `--model` accepts.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Parameter count the source reports (for a config file: [`ModelConfig::param_count`]).
    pub params: f64,
    pub layers: u64,
    /// Hidden size (d_model).
    pub hidden: u64,
    /// Attention (query) heads.
    pub heads: u64,
    /// Key/value heads (= `heads` without grouped-query attention).
    pub kv_heads: u64,
    /// MLP intermediate size.
    pub ffn: u64,
    pub vocab: u64,
    /// Sequence length used in pre-training (for a config file: `max_position_embeddings`).
    pub context: u64,
    /// Tokens seen in pre-training, where published.
    pub training_tokens: Option<f64>,
    /// SwiGLU/GeGLU MLP with three matrices; `false`: two matrices.
    pub gated_mlp: bool,
    /// LM head shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Linear layers and LayerNorms carry biases (GPT-2/GPT-3 style).
    #[serde(default)]
    pub bias: bool,
    /// A learned position-embedding table (`context × hidden`).
    #[serde(default)]
    pub learned_positions: bool,
    /// Head size when it is not `hidden / heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u64>,
    /// Where the figures come from.
    pub source: String,
    /// Why [`ModelConfig::param_count`] differs from `params`, where it does by more than 3 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_note: Option<String>,
}

/// Parameters by part (counts, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamBreakdown {
    pub embedding: f64,
    pub positions: f64,
    pub attention: f64,
    pub mlp: f64,
    pub norms: f64,
    pub lm_head: f64,
}

impl ParamBreakdown {
    /// All parameters.
    pub fn total(&self) -> f64 {
        self.embedding + self.positions + self.attention + self.mlp + self.norms + self.lm_head
    }

    /// Parameters outside the embedding tables and LM head (Kaplan et al.'s N).
    pub fn non_embedding(&self) -> f64 {
        self.attention + self.mlp + self.norms
    }
}

impl ModelConfig {
    /// Size of one attention head.
    pub fn head_dim(&self) -> u64 {
        self.head_dim.unwrap_or(self.hidden / self.heads.max(1))
    }

    /// Parameters by part, from the architecture (formula in the module docs).
    pub fn param_breakdown(&self) -> ParamBreakdown {
        let h = self.hidden as f64;
        let l = self.layers as f64;
        let d = self.head_dim() as f64;
        let q = self.heads as f64 * d;
        let kv = self.kv_heads as f64 * d;
        let f = self.ffn as f64;
        let mats = if self.gated_mlp { 3.0 } else { 2.0 };
        let mut attention = h * q + 2.0 * h * kv + q * h;
        let mut mlp = mats * h * f;
        let norm = if self.bias { 2.0 * h } else { h };
        if self.bias {
            attention += q + 2.0 * kv + h;
            mlp += (mats - 1.0) * f + h;
        }
        let embedding = self.vocab as f64 * h;
        ParamBreakdown {
            embedding,
            positions: if self.learned_positions {
                self.context as f64 * h
            } else {
                0.0
            },
            attention: l * attention,
            mlp: l * mlp,
            norms: (2.0 * l + 1.0) * norm,
            lm_head: if self.tie_word_embeddings {
                0.0
            } else {
                embedding
            },
        }
    }

    /// Parameter count computed from the architecture.
    pub fn param_count(&self) -> f64 {
        self.param_breakdown().total()
    }

    /// Refuses a sequence longer than a learned position table (`flag` names the option);
    /// models with rotary or other computed positions accept any length.
    pub fn check_seq(&self, seq: f64, flag: &str) -> anyhow::Result<()> {
        if self.learned_positions && seq > self.context as f64 {
            return Err(crate::error::usage(format!(
                "{flag} {seq} is longer than {}'s learned position table ({} positions); use {flag} {} or less",
                self.name, self.context, self.context
            )));
        }
        Ok(())
    }

    /// Checks that the dimensions are positive and consistent; `origin` names the file.
    pub fn validate(&self, origin: &str) -> anyhow::Result<()> {
        for (key, v) in [
            ("layers", self.layers),
            ("hidden", self.hidden),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("ffn", self.ffn),
            ("vocab", self.vocab),
            ("context", self.context),
        ] {
            if v == 0 {
                return Err(usage(format!(
                    "{origin}: {key} must be a positive whole number"
                )));
            }
        }
        if self.head_dim.is_none() && !self.hidden.is_multiple_of(self.heads) {
            return Err(usage(format!(
                "{origin}: hidden size {} is not a multiple of {} heads; give head_dim",
                self.hidden, self.heads
            )));
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(usage(format!(
                "{origin}: {} attention heads are not a multiple of {} key/value heads",
                self.heads, self.kv_heads
            )));
        }
        if !(self.params.is_finite() && self.params > 0.0) {
            return Err(usage(format!("{origin}: params must be a positive number")));
        }
        Ok(())
    }

    /// Reads a Hugging Face `config.json`; see [`ModelConfig::from_hf_json`].
    pub fn from_hf_config(path: &Path) -> anyhow::Result<ModelConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{}: cannot read model config: {e}", path.display())))?;
        let fallback = path
            .parent()
            .and_then(|p| p.file_name())
            .or_else(|| path.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Self::from_hf_json(&text, &path.display().to_string(), &fallback)
    }

    /// Parses a Hugging Face config: LLaMA-style keys (`hidden_size`, `num_hidden_layers`,
    /// `intermediate_size`, `num_attention_heads`, `num_key_value_heads` (default: heads),
    /// `vocab_size`, `max_position_embeddings`, `tie_word_embeddings`) or GPT-2-style keys
    /// (`n_embd`, `n_layer`, `n_head`, `n_positions`, `n_inner` (default 4h)). Whether the
    /// MLP is gated, carries biases or has learned positions follows `model_type` (then
    /// `hidden_act`: silu/swish/swiglu/geglu = gated). `origin` names the file in errors,
    /// `fallback_name` is used when the config has no `_name_or_path`.
    pub fn from_hf_json(text: &str, origin: &str, fallback_name: &str) -> anyhow::Result<Self> {
        let root: Value = serde_json::from_str(text)
            .map_err(|e| usage(format!("{origin}: not a JSON model config ({e})")))?;
        let Some(mut obj) = root.as_object() else {
            return Err(usage(format!(
                "{origin}: a model config must be a JSON object"
            )));
        };
        // Multimodal wrappers keep the language model under `text_config`.
        if !has_any(obj, HIDDEN) {
            if let Some(t) = obj.get("text_config").and_then(Value::as_object) {
                obj = t;
            }
        }
        let model_type = str_key(obj, "model_type").unwrap_or_default();
        let kind = ArchKind::of(&model_type, obj);
        for key in ["num_local_experts", "num_experts", "n_routed_experts"] {
            if let Some(n) = opt_u64(obj, &[key], origin)?.filter(|n| *n > 1) {
                return Err(usage(format!(
                    "{origin}: mixture-of-experts configs ({key} = {n}) are not supported; gpubench counts dense models"
                )));
            }
        }
        let hidden = req_u64(obj, HIDDEN, origin)?;
        let heads = req_u64(obj, &["num_attention_heads", "n_head", "num_heads"], origin)?;
        let kv_heads = if obj.get("multi_query").and_then(Value::as_bool) == Some(true) {
            1
        } else {
            opt_u64(
                obj,
                &["num_key_value_heads", "num_kv_heads", "n_head_kv"],
                origin,
            )?
            .unwrap_or(heads)
        };
        let ffn_keys = ["intermediate_size", "n_inner", "ffn_dim"];
        let ffn = match opt_u64(obj, &ffn_keys, origin)? {
            Some(f) => f,
            None if kind.gpt2_style => 4 * hidden,
            None => return Err(missing(origin, &ffn_keys)),
        };
        let name = str_key(obj, "_name_or_path")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| fallback_name.to_string());
        let mut cfg = ModelConfig {
            name,
            aliases: Vec::new(),
            params: 0.0,
            layers: req_u64(obj, &["num_hidden_layers", "n_layer", "num_layers"], origin)?,
            hidden,
            heads,
            kv_heads,
            ffn,
            vocab: req_u64(obj, &["vocab_size"], origin)?,
            context: req_u64(
                obj,
                &[
                    "max_position_embeddings",
                    "n_positions",
                    "n_ctx",
                    "seq_length",
                ],
                origin,
            )?,
            training_tokens: None,
            gated_mlp: kind.gated,
            tie_word_embeddings: match obj.get("tie_word_embeddings") {
                None | Some(Value::Null) => kind.tie_default,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return Err(usage(format!(
                        "{origin}: tie_word_embeddings must be true or false, found {v}"
                    )))
                }
            },
            bias: kind.bias,
            learned_positions: kind.learned_positions,
            head_dim: opt_u64(obj, &["head_dim"], origin)?.filter(|d| *d * heads != hidden),
            source: format!(
                "Hugging Face config {origin} (model_type '{model_type}': {} MLP{})",
                if kind.gated { "gated" } else { "non-gated" },
                if kind.bias { ", biases" } else { "" }
            ),
            param_note: None,
        };
        cfg.params = 1.0; // validated below, then replaced by the count
        cfg.validate(origin)?;
        cfg.params = cfg.param_count();
        Ok(cfg)
    }
}

const HIDDEN: &[&str] = &["hidden_size", "n_embd", "d_model"];

/// Architecture traits a config file implies.
struct ArchKind {
    gated: bool,
    bias: bool,
    learned_positions: bool,
    tie_default: bool,
    gpt2_style: bool,
}

impl ArchKind {
    fn of(model_type: &str, obj: &Map<String, Value>) -> ArchKind {
        const GATED: &[&str] = &[
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "qwen3",
            "gemma",
            "gemma2",
            "gemma3_text",
            "olmo",
            "olmo2",
            "internlm2",
            "cohere",
            "granite",
            "phi3",
            "stablelm",
            "baichuan",
        ];
        const PLAIN: &[&str] = &[
            "gpt2",
            "gpt_neo",
            "gpt_neox",
            "gptj",
            "opt",
            "bloom",
            "falcon",
            "phi",
            "gpt_bigcode",
            "starcoder2",
            "mpt",
        ];
        const BIAS: &[&str] = &[
            "gpt2",
            "gpt_neo",
            "gpt_neox",
            "gptj",
            "opt",
            "bloom",
            "phi",
            "gpt_bigcode",
            "starcoder2",
        ];
        const LEARNED: &[&str] = &["gpt2", "gpt_neo", "opt", "gpt_bigcode"];
        const UNTIED: &[&str] = &[
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "qwen3",
            "gpt_neox",
            "gptj",
            "phi",
            "phi3",
            "olmo",
            "olmo2",
            "internlm2",
            "granite",
            "stablelm",
            "baichuan",
            "starcoder2",
        ];
        let mt = model_type.to_ascii_lowercase();
        let act = ["hidden_act", "hidden_activation", "activation_function"]
            .iter()
            .find_map(|k| str_key(obj, k))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let gpt2_style = mt == "gpt2" || (mt.is_empty() && obj.contains_key("n_embd"));
        let gated = if GATED.contains(&mt.as_str()) {
            true
        } else if PLAIN.contains(&mt.as_str()) || gpt2_style {
            false
        } else {
            matches!(act.as_str(), "silu" | "swish" | "swiglu" | "geglu")
        };
        let attention_bias = obj.get("attention_bias").and_then(Value::as_bool) == Some(true);
        ArchKind {
            gated,
            bias: BIAS.contains(&mt.as_str()) || gpt2_style || attention_bias,
            learned_positions: LEARNED.contains(&mt.as_str()) || gpt2_style,
            // transformers' PretrainedConfig defaults to tied; LLaMA-family configs untie.
            tie_default: !UNTIED.contains(&mt.as_str()),
            gpt2_style,
        }
    }
}

fn has_any(obj: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter()
        .any(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
}

fn str_key(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

fn missing(origin: &str, keys: &[&str]) -> anyhow::Error {
    let alt = if keys.len() > 1 {
        format!(" (or {})", keys[1..].join(", "))
    } else {
        String::new()
    };
    usage(format!(
        "{origin}: missing key '{}'{alt}; is this a Hugging Face config.json?",
        keys[0]
    ))
}

/// The first of `keys` that is present and not null, as a positive whole number.
/// The largest size, count or length a model configuration may state (a billion): far above
/// any real model, and small enough that no product of two such numbers overflows.
const MAX_ARCH_NUMBER: u64 = 1_000_000_000;

fn opt_u64(obj: &Map<String, Value>, keys: &[&str], origin: &str) -> anyhow::Result<Option<u64>> {
    for key in keys {
        match obj.get(*key) {
            None | Some(Value::Null) => continue,
            Some(v) => {
                let n = v
                    .as_u64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| {
                                f.fract() == 0.0 && *f > 0.0 && *f <= MAX_ARCH_NUMBER as f64
                            })
                            .map(|f| f as u64)
                    })
                    .filter(|n| *n > 0 && *n <= MAX_ARCH_NUMBER);
                return match n {
                    Some(n) => Ok(Some(n)),
                    None => Err(usage(format!(
                        "{origin}: key '{key}' must be a positive whole number up to {MAX_ARCH_NUMBER}, found {v}"
                    ))),
                };
            }
        }
    }
    Ok(None)
}

fn req_u64(obj: &Map<String, Value>, keys: &[&str], origin: &str) -> anyhow::Result<u64> {
    opt_u64(obj, keys, origin)?.ok_or_else(|| missing(origin, keys))
}

#[derive(Deserialize)]
struct TableFile {
    models: Vec<ModelConfig>,
}

/// The built-in presets, parsed once from `data/models.json`.
pub fn table() -> &'static [ModelConfig] {
    static TABLE: OnceLock<Vec<ModelConfig>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let file: TableFile = serde_json::from_str(include_str!("../data/models.json"))
            .expect("data/models.json is valid (checked by a unit test)");
        file.models
    })
}

/// Finds a preset by name or alias (case-insensitive; `_` and `.` in place of `-` accepted).
/// An unknown name is a usage error listing the closest names.
pub fn lookup(name: &str) -> anyhow::Result<&'static ModelConfig> {
    let n = name.trim().to_ascii_lowercase().replace('_', "-");
    if let Some(m) = table()
        .iter()
        .find(|m| m.name == n || m.aliases.contains(&n))
    {
        return Ok(m);
    }
    let close = crate::peak::close_matches(&n, table().iter().map(|m| m.name.as_str()));
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    };
    Err(usage(format!(
        "unknown model '{name}'{hint}: run 'gpubench models' for the list, or pass --model-config config.json"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(name: &str) -> f64 {
        lookup(name).unwrap().param_count()
    }

    #[test]
    fn presets_parse_validate_and_cite() {
        assert!(table().len() >= 20);
        for m in table() {
            m.validate(&m.name).unwrap();
            assert!(!m.source.is_empty(), "{} cites a source", m.name);
            assert_eq!(lookup(&m.name).unwrap().name, m.name);
            for a in &m.aliases {
                assert_eq!(lookup(a).unwrap().name, m.name, "alias {a}");
            }
        }
    }

    #[test]
    fn formula_matches_reported_sizes() {
        // Within 3 % of the reported count, unless the row explains why not.
        for m in table() {
            let rel = (m.param_count() - m.params).abs() / m.params;
            if m.param_note.is_some() {
                assert!(rel > 0.03 && rel < 0.1, "{}: {rel}", m.name);
            } else {
                assert!(
                    rel < 0.03,
                    "{}: computed {} vs {}",
                    m.name,
                    m.param_count(),
                    m.params
                );
            }
        }
    }

    #[test]
    fn exact_released_counts() {
        assert_eq!(count("llama-7b"), 6_738_415_616.0);
        assert_eq!(count("llama-2-70b"), 68_976_648_192.0);
        assert_eq!(count("llama-3-8b"), 8_030_261_248.0);
        assert_eq!(count("llama-3-70b"), 70_553_706_496.0);
        assert_eq!(count("gpt2"), 124_439_808.0);
        assert_eq!(count("gpt2-medium"), 354_823_168.0);
        assert_eq!(count("mistral-7b"), 7_241_732_096.0);
        assert!((count("llama-65b") / 65.2e9 - 1.0).abs() < 0.003);
        assert!((count("gpt3-175b") / 175e9 - 1.0).abs() < 0.003);
        assert!((count("llama-3.1-405b") / 405.9e9 - 1.0).abs() < 0.001);
    }

    #[test]
    fn breakdown_parts() {
        let m = lookup("llama-7b").unwrap();
        let b = m.param_breakdown();
        assert_eq!(b.embedding, 32000.0 * 4096.0);
        assert_eq!(b.lm_head, b.embedding);
        assert_eq!(b.positions, 0.0);
        assert_eq!(b.attention, 32.0 * 4.0 * 4096.0 * 4096.0);
        assert_eq!(b.mlp, 32.0 * 3.0 * 4096.0 * 11008.0);
        assert_eq!(b.norms, 65.0 * 4096.0);
        // Grouped-query attention: K and V have 8 of 64 heads.
        let g = lookup("llama-2-70b").unwrap().param_breakdown();
        assert_eq!(
            g.attention,
            80.0 * (2.0 * 8192.0 * 8192.0 + 2.0 * 8192.0 * 1024.0)
        );
        let t = lookup("gpt2").unwrap().param_breakdown();
        assert_eq!(t.lm_head, 0.0);
        assert_eq!(t.positions, 1024.0 * 768.0);
    }

    #[test]
    fn hf_llama_config() {
        let text = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama",
            "hidden_size":4096,"intermediate_size":11008,"num_attention_heads":32,
            "num_hidden_layers":32,"num_key_value_heads":32,"vocab_size":32000,
            "max_position_embeddings":4096,"tie_word_embeddings":false,"hidden_act":"silu",
            "_name_or_path":"meta-llama/Llama-2-7b-hf"}"#;
        let m = ModelConfig::from_hf_json(text, "config.json", "x").unwrap();
        assert_eq!(m.params, 6_738_415_616.0);
        assert_eq!(m.name, "meta-llama/Llama-2-7b-hf");
        assert!(m.gated_mlp && !m.bias && !m.tie_word_embeddings);
        assert_eq!(m.context, 4096);
        // num_key_value_heads absent: defaults to the head count; GQA when present.
        let no_kv = text.replace(r#""num_key_value_heads":32,"#, "");
        assert_eq!(
            ModelConfig::from_hf_json(&no_kv, "c", "x")
                .unwrap()
                .kv_heads,
            32
        );
        let gqa = text.replace(r#""num_key_value_heads":32"#, r#""num_key_value_heads":8"#);
        let g = ModelConfig::from_hf_json(&gqa, "c", "x").unwrap();
        assert_eq!(g.kv_heads, 8);
        assert!(g.params < m.params);
    }

    #[test]
    fn hf_gpt2_config() {
        let text = r#"{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,
            "n_positions":1024,"n_ctx":1024,"vocab_size":50257,"n_inner":null,
            "activation_function":"gelu_new"}"#;
        let m = ModelConfig::from_hf_json(text, "gpt2/config.json", "gpt2").unwrap();
        assert_eq!(m.params, 124_439_808.0);
        assert_eq!(m.ffn, 3072);
        assert!(!m.gated_mlp && m.bias && m.learned_positions && m.tie_word_embeddings);
        assert_eq!(m.name, "gpt2");
    }

    #[test]
    fn hf_unknown_type_uses_activation() {
        let base = r#"{"model_type":"newthing","hidden_size":512,"intermediate_size":1024,
            "num_attention_heads":8,"num_hidden_layers":2,"vocab_size":1000,
            "max_position_embeddings":256,"hidden_act":"ACT"}"#;
        let gated = ModelConfig::from_hf_json(&base.replace("ACT", "silu"), "c", "x").unwrap();
        let plain = ModelConfig::from_hf_json(&base.replace("ACT", "gelu"), "c", "x").unwrap();
        assert!(gated.gated_mlp && !plain.gated_mlp);
        assert_eq!(gated.params - plain.params, 2.0 * 512.0 * 1024.0);
    }

    #[test]
    fn hf_errors_name_file_and_key() {
        let cases = [
            ("{", "not a JSON model config"),
            ("[1]", "must be a JSON object"),
            (r#"{"model_type":"llama"}"#, "missing key 'hidden_size'"),
            (
                r#"{"model_type":"llama","hidden_size":"big"}"#,
                "key 'hidden_size' must be a positive whole number",
            ),
            (
                r#"{"model_type":"llama","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":10,"max_position_embeddings":8}"#,
                "missing key 'intermediate_size'",
            ),
            (
                r#"{"model_type":"mixtral","num_local_experts":8,"hidden_size":64}"#,
                "mixture-of-experts",
            ),
            (
                r#"{"model_type":"llama","hidden_size":64,"num_attention_heads":6,"num_hidden_layers":2,"vocab_size":10,"max_position_embeddings":8,"intermediate_size":128}"#,
                "not a multiple of 6 heads",
            ),
        ];
        for (text, want) in cases {
            let e = ModelConfig::from_hf_json(text, "my/config.json", "x").unwrap_err();
            assert!(crate::error::is_usage(&e));
            let msg = e.to_string();
            assert!(msg.starts_with("my/config.json: "), "{msg}");
            assert!(msg.contains(want), "{msg} should contain {want}");
            assert!(!msg.contains('\n'));
        }
    }

    #[test]
    fn hf_config_file_errors() {
        let e = ModelConfig::from_hf_config(Path::new("/no/such/config.json")).unwrap_err();
        assert!(e
            .to_string()
            .contains("/no/such/config.json: cannot read model config"));
    }

    #[test]
    fn lookup_is_forgiving_and_suggests() {
        assert_eq!(lookup("LLaMA-65B").unwrap().name, "llama-65b");
        assert_eq!(lookup("llama_2_70b").unwrap().name, "llama-2-70b");
        assert_eq!(lookup("gpt3").unwrap().name, "gpt3-175b");
        let e = lookup("llama-66b").unwrap_err();
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("llama-65b"), "{e}");
    }
}

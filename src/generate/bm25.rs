//! BM25 retrieval over document chunks for grounded answers: Chinese segmented with jieba-rs,
//! other text split into lowercase words. Small and in memory: a documents dataset is searched
//! once per job, when its items are made.

use jieba_rs::Jieba;
use std::collections::HashMap;
use std::sync::OnceLock;

fn jieba() -> &'static Jieba {
    static J: OnceLock<Jieba> = OnceLock::new();
    J.get_or_init(Jieba::new)
}

const STOP: &[&str] = &[
    "的",
    "了",
    "是",
    "在",
    "和",
    "与",
    "或",
    "吗",
    "呢",
    "什么",
    "怎么",
    "如何",
    "为什么",
    "哪些",
    "一个",
    "the",
    "a",
    "an",
    "of",
    "is",
    "are",
    "to",
    "in",
    "and",
    "or",
    "what",
    "how",
    "why",
    "which",
    "does",
    "do",
    "for",
    "on",
    "with",
    "it",
    "be",
];

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Tokens of a text: jieba words for CJK runs, lowercase words otherwise, stop words dropped.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    let mut run_cjk = false;
    let flush = |run: &mut String, cjk: bool, out: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        if cjk {
            out.extend(jieba().cut(run, true).into_iter().map(str::to_string));
        } else {
            out.push(run.to_lowercase());
        }
        run.clear();
    };
    for c in text.chars() {
        let cjk = is_cjk(c);
        if !(cjk || c.is_alphanumeric()) {
            flush(&mut run, run_cjk, &mut out);
            continue;
        }
        if !run.is_empty() && cjk != run_cjk {
            flush(&mut run, run_cjk, &mut out);
        }
        run_cjk = cjk;
        run.push(c);
    }
    flush(&mut run, run_cjk, &mut out);
    out.retain(|t| !t.trim().is_empty() && !STOP.contains(&t.as_str()));
    out
}

/// An index over documents identified by `u64` ids.
pub struct Index {
    docs: Vec<(i64, HashMap<String, u32>, usize)>,
    df: HashMap<String, u32>,
    avgdl: f64,
}

/// A hit: document id, BM25 score, and the share of the query's terms it contains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub score: f64,
    pub coverage: f64,
}

const K1: f64 = 1.2;
const B: f64 = 0.75;

impl Index {
    pub fn new(docs: impl IntoIterator<Item = (i64, String)>) -> Index {
        let mut out = Vec::new();
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut total = 0usize;
        for (id, text) in docs {
            let toks = tokenize(&text);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for t in &toks {
                *tf.entry(t.clone()).or_default() += 1;
            }
            for t in tf.keys() {
                *df.entry(t.clone()).or_default() += 1;
            }
            total += toks.len();
            out.push((id, tf, toks.len()));
        }
        let avgdl = if out.is_empty() {
            1.0
        } else {
            total as f64 / out.len() as f64
        };
        Index {
            docs: out,
            df,
            avgdl: avgdl.max(1.0),
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The best `k` documents for a query, best first; documents sharing no term are left out.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        let mut terms = tokenize(query);
        terms.sort();
        terms.dedup();
        if terms.is_empty() {
            return Vec::new();
        }
        let n = self.docs.len() as f64;
        let mut hits: Vec<Hit> = self
            .docs
            .iter()
            .filter_map(|(id, tf, len)| {
                let mut score = 0.0;
                let mut matched = 0;
                for t in &terms {
                    let Some(&f) = tf.get(t) else { continue };
                    matched += 1;
                    let df = f64::from(self.df.get(t).copied().unwrap_or(0));
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    let f = f64::from(f);
                    score +=
                        idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * *len as f64 / self.avgdl));
                }
                (matched > 0).then(|| Hit {
                    id: *id,
                    score,
                    coverage: matched as f64 / terms.len() as f64,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(k);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_retrieve_the_right_chunk() {
        let idx = Index::new(vec![
            (
                1,
                "光合作用是植物利用阳光把二氧化碳和水转化为葡萄糖的过程。".to_string(),
            ),
            (
                2,
                "The Rust borrow checker enforces ownership rules at compile time.".to_string(),
            ),
            (3, "长城是中国古代的军事防御工程。".to_string()),
        ]);
        assert_eq!(idx.search("植物的光合作用需要什么？", 2)[0].id, 1);
        assert_eq!(
            idx.search("What does the borrow checker enforce?", 2)[0].id,
            2
        );
        assert!(idx.search("量子计算机", 2).is_empty());
        assert!(idx.search("", 2).is_empty());
    }
}

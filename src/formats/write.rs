//! Writes samples in one format as a JSON array or JSON Lines, streaming. A sample the format
//! cannot carry is skipped and counted by reason. CAMEL's shapes are one object per file;
//! multiple-choice questions of one problem are grouped back into one item.

use super::fields::Obj;
use super::{Format, SampleView, Tags};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A JSON array (`.json`).
    Array,
    /// One record per line (`.jsonl`).
    Lines,
}

impl Container {
    /// From an output file name: `.json` is an array, `.jsonl` lines.
    pub fn for_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Container::Array),
            "jsonl" | "ndjson" => Some(Container::Lines),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: u64,
    /// Skipped samples by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl WriteSummary {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

pub struct SampleWriter<W: Write> {
    out: W,
    format: Format,
    container: Container,
    tags: Tags,
    records: u64,
    summary: WriteSummary,
    /// CAMEL export: golden answers, written after the solutions.
    golden: Vec<u8>,
    golden_count: u64,
    /// Multiple choice: the open group (problem, questions).
    group: Option<(String, Vec<Value>)>,
}

impl<W: Write> SampleWriter<W> {
    pub fn new(
        mut out: W,
        format: Format,
        container: Container,
        tags: Tags,
    ) -> std::io::Result<Self> {
        if format.is_single_object() {
            out.write_all(if format == Format::CamelExport {
                b"{\"solutions\":{"
            } else {
                b"{"
            })?;
        } else if container == Container::Array {
            out.write_all(b"[\n")?;
        }
        Ok(SampleWriter {
            out,
            format,
            container,
            tags,
            records: 0,
            summary: WriteSummary::default(),
            golden: Vec::new(),
            golden_count: 0,
            group: None,
        })
    }

    fn record(&mut self, v: &impl serde::Serialize) -> std::io::Result<()> {
        if self.container == Container::Array && self.records > 0 {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut self.out, v)?;
        if self.container == Container::Lines {
            self.out.write_all(b"\n")?;
        }
        self.records += 1;
        Ok(())
    }

    fn skip(&mut self, reason: String) {
        *self.summary.skipped.entry(reason).or_insert(0) += 1;
    }

    /// Writes one sample; returns false when the format cannot carry it (counted as skipped).
    pub fn write(&mut self, s: &SampleView<'_>) -> std::io::Result<bool> {
        let value = match self.format {
            // Alpaca, the common case, is written without a `Value` in between.
            Format::Alpaca => return self.written(super::alpaca::record(s)),
            Format::Sharegpt => super::sharegpt::to_json(s, &self.tags),
            Format::Openai => super::openai::to_json(s),
            Format::Xtuner => super::xtuner::to_json(s),
            Format::Agent => super::agent::to_json(s),
            Format::Pretrain => super::pretrain::to_json(s),
            Format::CamelGolden | Format::CamelExport => return self.camel(s),
            Format::Choice => return self.choice(s),
        };
        self.written(value)
    }

    /// Writes a record, or counts why there is none.
    fn written(
        &mut self,
        record: Result<impl serde::Serialize, super::Skip>,
    ) -> std::io::Result<bool> {
        match record {
            Ok(v) => {
                self.record(&v)?;
                self.summary.written += 1;
                Ok(true)
            }
            Err(reason) => {
                self.skip(reason);
                Ok(false)
            }
        }
    }

    fn camel(&mut self, s: &SampleView<'_>) -> std::io::Result<bool> {
        let e = match super::camel::entry(s) {
            Ok(e) => e,
            Err(reason) => {
                self.skip(reason);
                return Ok(false);
            }
        };
        let q = Value::String(e.question);
        if self.format == Format::CamelGolden {
            let Some(g) = e.golden else {
                self.skip("has no golden answer".into());
                return Ok(false);
            };
            if self.records > 0 {
                self.out.write_all(b",")?;
            }
            write_pair(&mut self.out, &q, &Value::String(g))?;
            self.records += 1;
        } else {
            if e.solution.is_none() && e.golden.is_none() {
                self.skip("has neither a solution nor a golden answer".into());
                return Ok(false);
            }
            if let Some(sol) = e.solution {
                if self.records > 0 {
                    self.out.write_all(b",")?;
                }
                write_pair(&mut self.out, &q, &Value::String(sol))?;
                self.records += 1;
            }
            if let Some(g) = e.golden {
                if self.golden_count > 0 {
                    self.golden.push(b',');
                }
                write_pair(&mut self.golden, &q, &Value::String(g))?;
                self.golden_count += 1;
            }
        }
        self.summary.written += 1;
        Ok(true)
    }

    fn choice(&mut self, s: &SampleView<'_>) -> std::io::Result<bool> {
        let (problem, q) = match super::choice::split(s) {
            Ok(x) => x,
            Err(reason) => {
                self.skip(reason);
                return Ok(false);
            }
        };
        match &mut self.group {
            Some((p, qs)) if *p == problem => qs.push(Value::Object(q)),
            _ => {
                self.flush_group()?;
                self.group = Some((problem, vec![Value::Object(q)]));
            }
        }
        self.summary.written += 1;
        Ok(true)
    }

    fn flush_group(&mut self) -> std::io::Result<()> {
        if let Some((problem, questions)) = self.group.take() {
            let mut o = Obj::new();
            o.insert("problem".into(), problem.into());
            o.insert("questions".into(), Value::Array(questions));
            self.record(&Value::Object(o))?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<WriteSummary> {
        self.flush_group()?;
        match self.format {
            Format::CamelGolden => self.out.write_all(b"}\n")?,
            Format::CamelExport => {
                self.out.write_all(b"},\"golden_answers\":{")?;
                self.out.write_all(&self.golden)?;
                let time = crate::model::now();
                writeln!(self.out, "}},\"export_time\":{}}}", Value::String(time))?;
            }
            _ if self.container == Container::Array => self.out.write_all(b"\n]\n")?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.summary)
    }
}

fn write_pair(out: &mut impl Write, k: &Value, v: &Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, k)?;
    out.write_all(b":")?;
    serde_json::to_writer(&mut *out, v)?;
    Ok(())
}

//! Where an export goes: one file in a [`Format`], a folder a trainer reads, or a preference
//! export made of the review history. Every format is a file target by construction, so a new
//! format needs no entry here.

use super::preference::Preference;
use crate::formats::Format;

/// The target of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportTarget {
    /// A `.json` (array) or `.jsonl` file in this format.
    File(Format),
    /// A LLaMA-Factory folder: data files + `dataset_info.json`.
    LlamaFactory,
    /// A Hugging Face dataset folder: `data/train.jsonl` + a `README.md` card.
    HuggingFace,
    /// Pairs, labels or step labels from what reviewers decided on each revision.
    Preference(Preference),
}

impl ExportTarget {
    /// Every target: each format as a file, the two folders, then the preference exports.
    pub const ALL: [ExportTarget; Format::ALL.len() + 2 + Preference::ALL.len()] = {
        let mut all = [ExportTarget::LlamaFactory; Format::ALL.len() + 2 + Preference::ALL.len()];
        let mut i = 0;
        while i < Format::ALL.len() {
            all[i] = ExportTarget::File(Format::ALL[i]);
            i += 1;
        }
        all[Format::ALL.len() + 1] = ExportTarget::HuggingFace;
        let mut j = 0;
        while j < Preference::ALL.len() {
            all[Format::ALL.len() + 2 + j] = ExportTarget::Preference(Preference::ALL[j]);
            j += 1;
        }
        all
    };

    /// The name on the command line: the format's name, `llamafactory` or `hf`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportTarget::File(f) => f.as_str(),
            ExportTarget::LlamaFactory => "llamafactory",
            ExportTarget::HuggingFace => "hf",
            ExportTarget::Preference(p) => p.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_a_file_target_and_names_are_unique() {
        for f in Format::ALL {
            assert!(ExportTarget::ALL.contains(&ExportTarget::File(f)));
        }
        let mut names: Vec<&str> = ExportTarget::ALL.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ExportTarget::ALL.len());
        assert!(ExportTarget::ALL.contains(&ExportTarget::HuggingFace));
        for p in Preference::ALL {
            assert!(ExportTarget::ALL.contains(&ExportTarget::Preference(p)));
        }
    }
}

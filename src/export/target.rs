//! Where an export goes: one file in a [`Format`], or a folder a trainer reads. Every format
//! is a file target by construction, so a new format needs no entry here.

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
}

impl ExportTarget {
    /// Every target: each format as a file, then the two folders.
    pub const ALL: [ExportTarget; Format::ALL.len() + 2] = {
        let mut all = [ExportTarget::LlamaFactory; Format::ALL.len() + 2];
        let mut i = 0;
        while i < Format::ALL.len() {
            all[i] = ExportTarget::File(Format::ALL[i]);
            i += 1;
        }
        all[Format::ALL.len() + 1] = ExportTarget::HuggingFace;
        all
    };

    /// The name on the command line: the format's name, `llamafactory` or `hf`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportTarget::File(f) => f.as_str(),
            ExportTarget::LlamaFactory => "llamafactory",
            ExportTarget::HuggingFace => "hf",
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
        assert_eq!(ExportTarget::ALL.last(), Some(&ExportTarget::HuggingFace));
    }
}

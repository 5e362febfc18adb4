//! Readers and writers for every fine-tuning data format (see ../shared/FORMATS.md).

//! The search query language: `key:value[,value]` filters (any of the values) and the rest
//! as fuzzy text (nucleo syntax: `^start`, `end$`, `'exact`, `!not`), e.g.
//!
//! `status:unreviewed kind:cot verdict:fail,mixed tag:tax aspect:vat dataset:NAME 税率`
//!
//! `sort:score` (weakest verdict first), `sort:-length` (longest first) set the list's order.

use crate::model::{ReviewStatus, SampleKind, VerdictSummary};
use crate::store::{DatasetInfo, Filter, Order, SavedView};

/// The filter keys the query syntax knows, for errors and the help.
pub const KEYS: &str = "status, verdict, kind, aspect, tag, dataset, dup, view, sort";

/// Replaces each `view:NAME` token of `query` with the saved view's query (one level: a view
/// naming another view is refused). Errors name the unknown view and the ones there are.
pub fn expand_views(query: &str, views: &[SavedView]) -> Result<String, String> {
    let mut out = Vec::new();
    for token in query.split_whitespace() {
        let Some(name) = token.strip_prefix("view:") else {
            out.push(token.to_string());
            continue;
        };
        if name.is_empty() {
            // Still being typed.
            continue;
        }
        let v = views.iter().find(|v| v.name == name).ok_or_else(|| {
            let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
            format!(
                "view:{name}? saved views: {} (`assay views save NAME QUERY` saves one)",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })?;
        if v.query.split_whitespace().any(|t| t.starts_with("view:")) {
            return Err(format!(
                "view {name} names another view; save it spelled out"
            ));
        }
        out.push(v.query.clone());
    }
    Ok(out.join(" "))
}

/// Splits a query into its filter and its fuzzy text. `default_dataset` applies unless the
/// query names one. Errors name the bad token and what would be valid.
pub fn parse_query(
    query: &str,
    datasets: &[DatasetInfo],
    default_dataset: Option<i64>,
) -> Result<(Filter, String), String> {
    let mut filter = Filter {
        dataset_id: default_dataset,
        ..Filter::default()
    };
    let mut text = Vec::new();
    for token in query.split_whitespace() {
        let Some((key, values)) = token.split_once(':') else {
            text.push(token);
            continue;
        };
        if values.is_empty() {
            // Still being typed: `status:` waits for its value.
            continue;
        }
        for v in values.split(',').filter(|v| !v.is_empty()) {
            match key {
                "status" => filter.statuses.push(ReviewStatus::parse(v).ok_or_else(|| {
                    format!("status:{v}? statuses: unreviewed, accepted, rejected, flagged")
                })?),
                "verdict" => filter
                    .verdicts
                    .push(VerdictSummary::parse(v).ok_or_else(|| {
                        format!("verdict:{v}? verdicts: none, pass, fail, mixed")
                    })?),
                "kind" => filter.kinds.push(SampleKind::parse(v).ok_or_else(|| {
                    format!(
                        "kind:{v}? kinds: {}",
                        SampleKind::ALL.map(|k| k.as_str()).join(", ")
                    )
                })?),
                "aspect" => filter.aspects.push(v.to_string()),
                "tag" => filter.tags.push(v.to_string()),
                // Near-duplicate clusters marked by `assay dedup`.
                "dup" => filter.near_duplicates = matches!(v, "yes" | "true" | "1"),
                "sort" => {
                    filter.order = Order::parse(v).ok_or_else(|| {
                        format!("sort:{v}? sorts: score, -score, length, -length, id")
                    })?;
                }
                "dataset" => {
                    let d = datasets.iter().find(|d| d.name == v).ok_or_else(|| {
                        format!(
                            "dataset:{v}? datasets: {}",
                            datasets
                                .iter()
                                .map(|d| d.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                    filter.dataset_id = Some(d.id);
                }
                _ => return Err(format!("{key}:? filter keys: {KEYS}")),
            }
        }
    }
    Ok((filter, text.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_expand_to_their_query_once() {
        let views = vec![
            SavedView {
                name: "todo".into(),
                query: "status:unreviewed verdict:fail".into(),
                saved_by: "r".into(),
                saved_at: "t".into(),
            },
            SavedView {
                name: "loop".into(),
                query: "view:todo".into(),
                saved_by: "r".into(),
                saved_at: "t".into(),
            },
        ];
        assert_eq!(
            expand_views("view:todo 税率", &views).unwrap(),
            "status:unreviewed verdict:fail 税率"
        );
        assert!(
            expand_views("view:nope", &views)
                .unwrap_err()
                .contains("todo")
        );
        assert!(expand_views("view:loop", &views).is_err());
        assert_eq!(expand_views("view:", &views).unwrap(), "");
    }

    fn ds() -> Vec<DatasetInfo> {
        vec![DatasetInfo {
            id: 7,
            name: "tax".into(),
            samples: 1,
            created_at: String::new(),
        }]
    }

    #[test]
    fn filters_and_text() {
        let (f, t) = parse_query("status:unreviewed kind:cot 税 率", &ds(), Some(1)).unwrap();
        assert_eq!(f.statuses, vec![ReviewStatus::Unreviewed]);
        assert_eq!(f.kinds, vec![SampleKind::Cot]);
        assert_eq!(f.dataset_id, Some(1));
        assert_eq!(t, "税 率");
        let (f, _) =
            parse_query("dataset:tax verdict:fail,mixed tag:a aspect:b", &ds(), None).unwrap();
        assert_eq!(f.dataset_id, Some(7));
        assert_eq!(
            f.verdicts,
            vec![VerdictSummary::Fail, VerdictSummary::Mixed]
        );
        assert_eq!((f.tags.len(), f.aspects.len()), (1, 1));
        assert!(parse_query("status:", &ds(), None).is_ok());
    }

    #[test]
    fn sort_orders_round_trip_through_describe() {
        use crate::store::SortKey;
        let (f, t) = parse_query("sort:-length 税", &ds(), Some(1)).unwrap();
        assert_eq!(f.order, Order::by(SortKey::Length, true));
        assert_eq!(t, "税");
        assert_eq!(f.order.describe(), "sort:-length");
        assert_eq!(f.describe(), "", "an order narrows nothing");
        for order in Order::CYCLE {
            let (f, _) = parse_query(&f_describe(order), &ds(), None).unwrap();
            assert_eq!(f.order, order);
        }
        assert!(
            parse_query("sort:size", &ds(), None)
                .unwrap_err()
                .contains("length")
        );
        // The cycle visits every order once and comes back.
        let mut o = Order::default();
        for _ in 0..Order::CYCLE.len() {
            o = o.next();
        }
        assert_eq!(o, Order::default());
    }

    fn f_describe(order: Order) -> String {
        order.describe()
    }

    #[test]
    fn bad_filters_are_errors() {
        assert!(
            parse_query("status:done", &ds(), None)
                .unwrap_err()
                .contains("unreviewed")
        );
        assert!(
            parse_query("colour:red", &ds(), None)
                .unwrap_err()
                .contains("filter keys")
        );
        assert!(
            parse_query("dataset:nope", &ds(), None)
                .unwrap_err()
                .contains("tax")
        );
    }
}

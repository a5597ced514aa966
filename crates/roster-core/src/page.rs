//! Pages of large results: the first rows in an order, without sorting
//! (or even deciding about) the rest.

use std::cmp::Ordering;

/// The first `limit + 1` rows in `order` among those `wanted`, sorted:
/// enough to answer a page and tell whether another follows. A row that
/// cannot be among them (not before the last one kept, once `limit + 1`
/// are kept) is passed over without asking `wanted`; one that can is
/// placed by a binary search among those kept. So a page over a million
/// rows costs about a million comparisons, and `wanted` (a decision, a
/// search filter) is asked mostly for the rows that come first.
pub fn first_in_order<T>(
    rows: impl IntoIterator<Item = T>,
    limit: usize,
    order: impl Fn(&T, &T) -> Ordering,
    mut wanted: impl FnMut(&T) -> bool,
) -> Vec<T> {
    let keep = limit.saturating_add(1);
    let mut kept: Vec<T> = Vec::with_capacity(keep.min(1024));
    for row in rows {
        let full = kept.len() == keep;
        if full
            && kept
                .last()
                .is_some_and(|last| order(&row, last) != Ordering::Less)
        {
            continue;
        }
        if !wanted(&row) {
            continue;
        }
        let at = kept.partition_point(|k| order(k, &row) != Ordering::Greater);
        kept.insert(at, row);
        kept.truncate(keep);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::first_in_order;

    #[test]
    fn the_first_rows_are_those_a_full_sort_puts_first() {
        let mut state = 7u64;
        let shuffled: Vec<u64> = (0..2_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state % 500
            })
            .collect();
        let ascending: Vec<u64> = (0..2_000).collect();
        let descending: Vec<u64> = (0..2_000).rev().collect();
        for rows in [shuffled, ascending, descending, Vec::new()] {
            for limit in [0, 1, 50, 499, 5_000] {
                let odd = |n: &u64| n % 2 == 1;
                let mut sorted: Vec<u64> = rows.iter().copied().filter(odd).collect();
                sorted.sort_unstable();
                sorted.truncate(limit + 1);
                let mut asked = 0;
                let first = first_in_order(rows.iter().copied(), limit, u64::cmp, |n| {
                    asked += 1;
                    odd(n)
                });
                assert_eq!(first, sorted, "limit {limit}");
                assert!(asked <= rows.len());
            }
        }
    }

    #[test]
    fn rows_that_cannot_come_first_are_not_asked_about() {
        let mut asked = Vec::new();
        let first = first_in_order(0..1_000u32, 9, u32::cmp, |n| {
            asked.push(*n);
            true
        });
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        assert_eq!(asked, (0..10).collect::<Vec<_>>(), "in order: ten asked");
    }
}

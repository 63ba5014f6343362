//! ROC AUC and TPR at a fixed FPR for per-packet scores.

/// Area under the ROC curve: the probability that a random attack packet
/// scores higher than a random benign one (ties count half). `None` when
/// either side is empty.
pub fn roc_auc(pos: &[f64], neg: &[f64]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    // Rank-sum (Mann–Whitney U) with average ranks for ties: O(n log n).
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for item in &all[i..=j] {
            if item.1 {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * nn))
}

/// True-positive rate at the strictest threshold whose false-positive rate
/// is at most `fpr`: a packet is flagged when its score is above the
/// threshold.
pub fn tpr_at_fpr(pos: &[f64], neg: &[f64], fpr: f64) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut n: Vec<f64> = neg.to_vec();
    n.sort_by(|a, b| b.total_cmp(a));
    // At most floor(fpr * N) benign packets may be above the threshold.
    let allowed = (fpr * n.len() as f64).floor() as usize;
    let threshold = n[allowed.min(n.len() - 1)];
    let tp = pos.iter().filter(|&&s| s > threshold).count();
    Some(tp as f64 / pos.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted_separation() {
        assert_eq!(roc_auc(&[3.0, 4.0], &[1.0, 2.0]), Some(1.0));
        assert_eq!(roc_auc(&[1.0, 2.0], &[3.0, 4.0]), Some(0.0));
        assert_eq!(roc_auc(&[1.0, 1.0], &[1.0, 1.0]), Some(0.5));
        assert_eq!(roc_auc(&[], &[1.0]), None);
        // One of four pairs wrong.
        assert_eq!(roc_auc(&[2.0, 4.0], &[1.0, 3.0]), Some(0.75));
    }

    #[test]
    fn tpr_at_fpr_uses_the_benign_tail() {
        let neg: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        // One benign packet (999) may exceed the threshold at 0.1%: threshold = 998.
        let pos = [998.5, 999.5, 500.0, 2000.0];
        assert_eq!(tpr_at_fpr(&pos, &neg, 0.001), Some(0.75));
        assert_eq!(tpr_at_fpr(&pos, &neg, 0.0), Some(0.5));
    }
}

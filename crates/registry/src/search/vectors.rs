//! [`VectorIndex`]: unit-length embeddings in one contiguous `f32` matrix, searched
//! exactly. Below about 100 000 rows a full scan (one dot product per row, which the
//! compiler vectorises) is both exact and fast enough (10 000 × 384 is under 4 M
//! multiply-adds), so no approximate index is needed.

/// Rows of `dimensions` floats each, stored one after another.
#[derive(Debug, Clone, Default)]
pub struct VectorIndex {
    dimensions: usize,
    data: Vec<f32>,
}

impl VectorIndex {
    /// An empty index of `dimensions`-long vectors.
    pub fn new(dimensions: usize) -> Self {
        VectorIndex {
            dimensions,
            data: Vec::new(),
        }
    }

    /// The length of every vector.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dimensions).unwrap_or(0)
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Appends a row; returns its number, or `None` (nothing added) when `vector` has the
    /// wrong length.
    pub fn push(&mut self, vector: &[f32]) -> Option<usize> {
        if vector.len() != self.dimensions || self.dimensions == 0 {
            return None;
        }
        self.data.extend_from_slice(vector);
        Some(self.len() - 1)
    }

    /// Row `row`.
    pub fn row(&self, row: usize) -> Option<&[f32]> {
        self.data
            .get(row * self.dimensions..(row + 1) * self.dimensions)
    }

    /// The dot product of `query` with row `row` (its cosine similarity); `None` when
    /// there is no such row or `query` has the wrong length.
    pub fn row_score(&self, row: usize, query: &[f32]) -> Option<f32> {
        if query.len() != self.dimensions {
            return None;
        }
        self.row(row).map(|vector| dot(vector, query))
    }

    /// The dot product of `query` with every row, in row order (the cosine similarity,
    /// as the vectors are unit length). Empty when `query` has the wrong length.
    pub fn scores(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dimensions || self.dimensions == 0 {
            return Vec::new();
        }
        self.data
            .chunks_exact(self.dimensions)
            .map(|row| dot(row, query))
            .collect()
    }
}

/// The dot product, in four lanes so that the loop vectorises without `-ffast-math`.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 4];
    let (a4, a_rest) = a.split_at(a.len() / 4 * 4);
    let (b4, b_rest) = b.split_at(a4.len());
    for (x, y) in a4.chunks_exact(4).zip(b4.chunks_exact(4)) {
        for lane in 0..4 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32]) -> Vec<f32> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        values.iter().map(|v| v / norm).collect()
    }

    #[test]
    fn scores_are_cosines_in_row_order() {
        let mut index = VectorIndex::new(5);
        assert_eq!(index.push(&unit(&[1.0, 0.0, 0.0, 0.0, 0.0])), Some(0));
        assert_eq!(index.push(&unit(&[1.0, 1.0, 0.0, 0.0, 0.0])), Some(1));
        assert_eq!(index.push(&unit(&[0.0, 0.0, 0.0, 0.0, 1.0])), Some(2));
        assert_eq!(index.push(&[1.0, 2.0]), None, "wrong length");
        assert_eq!(index.len(), 3);
        let scores = index.scores(&unit(&[1.0, 0.0, 0.0, 0.0, 0.0]));
        assert!((scores[0] - 1.0).abs() < 1e-6);
        assert!((scores[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!(scores[2].abs() < 1e-6);
        assert!(index.scores(&[1.0]).is_empty());
        assert_eq!(index.row(2).unwrap()[4], 1.0);
        assert_eq!(
            index.row_score(1, &unit(&[1.0, 0.0, 0.0, 0.0, 0.0])),
            Some(scores[1])
        );
        assert_eq!(index.row_score(3, &unit(&[1.0, 0.0, 0.0, 0.0, 0.0])), None);
        assert_eq!(index.row_score(0, &[1.0]), None);
        assert!(index.row(3).is_none());
    }

    #[test]
    fn dot_matches_the_plain_sum_for_every_length() {
        for length in 0..13 {
            let a: Vec<f32> = (0..length).map(|i| i as f32 * 0.5 - 1.0).collect();
            let b: Vec<f32> = (0..length).map(|i| 2.0 - i as f32 * 0.25).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "{length}");
        }
    }
}

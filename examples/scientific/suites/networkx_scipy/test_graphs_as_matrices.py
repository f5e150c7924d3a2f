"""networkx with SciPy sparse matrices and NumPy arrays."""

import networkx as nx
import numpy as np
from scipy import sparse


def test_adjacency_round_trip_through_scipy_sparse():
    graph = nx.path_graph(5)
    matrix = nx.to_scipy_sparse_array(graph, format="csr")
    assert sparse.issparse(matrix)
    assert matrix.shape == (5, 5) and matrix.nnz == 8
    assert nx.is_isomorphic(graph, nx.from_scipy_sparse_array(matrix))


def test_pagerank_ranks_the_hub_first():
    ranks = nx.pagerank(nx.star_graph(6))
    assert abs(sum(ranks.values()) - 1.0) < 1e-9
    assert max(ranks, key=ranks.get) == 0


def test_laplacian_spectrum_counts_components():
    graph = nx.disjoint_union(nx.cycle_graph(4), nx.complete_graph(3))
    eigenvalues = np.sort(nx.laplacian_spectrum(graph))
    assert int(np.sum(np.isclose(eigenvalues, 0.0, atol=1e-9))) == nx.number_connected_components(graph) == 2


def test_weighted_numpy_array_becomes_weighted_graph():
    graph = nx.from_numpy_array(np.array([[0, 2.5, 0], [2.5, 0, 1.0], [0, 1.0, 0]]))
    assert graph[0][1]["weight"] == 2.5
    assert nx.shortest_path_length(graph, 0, 2, weight="weight") == 3.5

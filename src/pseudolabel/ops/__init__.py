"""Kernels: pure array functions shared by every stage (no registered components, no state).

The layer below the pipeline stages: ``core`` builds on it, the component folders (``teachers/``,
``refine/``, ``select/``) use it and never import each other. One module per kind of maths:

==============  ===================================================================
simplex         probability rows: validation, normalisation, entropy, margin, priors
labels          one rule for "unlabeled", label encoding
specs           component specs as text
estimators      weighted fits, class-column alignment, the default student
knn             exact kNN search and sparse kNN graphs (faiss / scikit-learn)
propagation     label spreading by conjugate gradients
prototypes      class prototypes and cosine scores
ot              Sinkhorn balancing, P²OT partial transport, the ρ ramp
prior           class priors (EM estimate on the pool)
loss_gate       two-component GMM on per-sample losses
calibration     temperature fitting, reliability bins, the one ECE
metrics         pseudo-label quality, mean ± std
selection_test  how sure a choice among many options is (sign-flip max-T)
ensemble        mean prediction and disagreement of ensemble members
assign          class-balanced top-k assignment
simmatch        SimMatch aggregation / unfolding
hashing         one content hash for arrays and texts
files           atomic file writes, the cache folder
aio             running coroutines from synchronous code
==============  ===================================================================
"""

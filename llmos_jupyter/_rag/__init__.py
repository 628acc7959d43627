"""Retrieval (RAG) helpers behind the ``index-build`` and ``retrieve`` system skills.

* :mod:`.store`: where an index lives (``$LLMOS_HOME/user/indexes/NAME``), its name
  grammar, the chunks' digest, the atomic folder swap and the context string;
* :mod:`.embedding`: the ``embedding`` method — a user's local model2vec model (found
  offline: a folder, or a Hugging Face id already in the local cache), its identity hash,
  unit-length chunk vectors in numpy and cosine top-k;
* :mod:`.lsa`: fits a small corpus-specific model2vec model by latent semantic analysis
  (numpy only, no download), for tests, benchmarks and users with no model at hand.

The skills import these inside ``execute`` so a library scan never imports numpy.
"""

"""The points ledger: services that write it, set-based jobs over it and its invariants.

See ``members.models`` for the model. Every function here that writes locks the member row
(or, for jobs, every member row of a chunk) before touching lots or entries.
"""

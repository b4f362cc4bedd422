"""What both web rooms use (generation.web and avatars.web): file responses, rate limits, the storage-outage answer.

Generation's web room imports avatars' (the API serves avatars); avatars' imports only this kit,
never generation.web (docs/architecture.md §1).
"""

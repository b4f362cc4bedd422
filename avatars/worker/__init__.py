"""Avatars on the worker side: preparation (face, landmarks, preview; tracking for a video)."""

"""Live media: WebRTC termination (aiortc) and the packet relay between participants.

The signalling layer uses ``livelens.media.hub.MediaHub`` (and its ``OfferRejected``).
Nothing is re-exported here, so importing the sans-IO modules (``rtp``,
``reference_relay``, ``streams``) does not load aiortc.
"""

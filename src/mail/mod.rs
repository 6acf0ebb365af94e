//! Sending mail: the client the agent sends verification links with, over HubSpot's transactional single-send v3.

// Placeholder: the scripted test daemon is filled in with the integration tests.
return 0;

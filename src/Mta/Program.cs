// Entry point of the `mta` command: hands the arguments to the CLI (Cli/MtaCommandLine.cs).
return await Mta.Cli.MtaCommandLine.RunAsync(args);

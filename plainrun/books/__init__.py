"""The built-in books. Importing this package defines their procedures (see plainrun.language.books)."""
